"""Read-only SQL: which statements `runner sql` runs, checked with DuckDB's own parser.

A read-only DuckDB connection cannot change the database file, but some
statements write elsewhere (``COPY ... TO`` over a run's Parquet shard,
``EXPORT DATABASE``, ``ATTACH`` of another database, ``INSTALL``). `runner sql`
therefore runs only statements that read: ``SELECT`` (``WITH``, ``FROM``,
``VALUES``, ``DESCRIBE``, ``SHOW``, ``SUMMARIZE`` parse as ``SELECT``) and
``EXPLAIN`` of those. Reading files the query names (``read_parquet``,
``read_csv``) is allowed.
"""

from __future__ import annotations

import duckdb

#: Statement types that only read.
READING = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}

_HINTS = {
    duckdb.StatementType.PRAGMA: "use DESCRIBE or SHOW instead of PRAGMA",
    duckdb.StatementType.COPY: "export a result with `runner sql ... --format csv|json|parquet -o FILE`",
    duckdb.StatementType.EXPORT: "copy the store directory instead; it is self-contained",
}


class ReadOnlyError(ValueError):
    """A statement that would write or change settings, refused by `runner sql`."""


def check_read_only(query: str) -> list[str]:
    """The statements of ``query``, each checked to only read.

    Parameters
    ----------
    query : str
        One or more SQL statements separated by ``;``.

    Returns
    -------
    list of str
        The statements' texts, in order.

    Raises
    ------
    ReadOnlyError
        Naming the first statement that is not a read (``COPY``, ``EXPORT``,
        ``ATTACH``, ``CREATE``, ``INSERT``, ``SET``, ``INSTALL``/``LOAD``, ...)
        or an ``EXPLAIN ANALYZE`` of one.
    duckdb.ParserException
        If ``query`` is not valid SQL.
    """
    statements = duckdb.extract_statements(query)
    if not statements:
        raise ReadOnlyError("the query is empty; expected a SELECT statement")
    for number, statement in enumerate(statements, 1):
        kind = statement.type
        if kind == duckdb.StatementType.EXPLAIN:
            kind = _explained(statement.query)
        if kind not in READING:
            name = kind.name.replace("_", " ")
            hint = _HINTS.get(kind, "runner sql only reads the store")
            raise ReadOnlyError(f"statement {number} is {name}, which runner sql refuses: the store is opened "
                                f"read-only and only SELECT (WITH, FROM, DESCRIBE, SHOW, SUMMARIZE) and EXPLAIN "
                                f"of a SELECT run; {hint}. Statement: {statement.query.strip()[:200]}")
    return [s.query for s in statements]


def _explained(text: str) -> duckdb.StatementType:
    """The type of the statement an ``EXPLAIN [ANALYZE]`` wraps (``EXPLAIN ANALYZE`` executes it)."""
    words = text.split()
    rest = words[1:]
    if rest and rest[0].upper() == "ANALYZE":
        rest = rest[1:]
    if rest and rest[0].startswith("("):  # EXPLAIN (FORMAT json) SELECT ...: options in parentheses
        return duckdb.StatementType.EXPLAIN if _inner(text) is None else _inner(text)
    inner = duckdb.extract_statements(" ".join(rest)) if rest else []
    return inner[0].type if len(inner) == 1 else duckdb.StatementType.INVALID


def _inner(text: str) -> duckdb.StatementType | None:
    close = text.find(")")
    inner = duckdb.extract_statements(text[close + 1:]) if close >= 0 else []
    return inner[0].type if len(inner) == 1 else None


def lock(con) -> None:
    """Forbid further configuration changes and extension installs on ``con`` (a read-only connection)."""
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET lock_configuration = true")
