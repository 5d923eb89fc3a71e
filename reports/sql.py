"""SQL models: ``<name>.sql.j2`` -> DuckDB table ``<name>``.

The models shared by several report kinds live in ``templates/sql``; each kind's
own live in its folder, ``reports/kinds/<kind>/`` (:func:`reports.common.kind_project`
gives a kind both). A model's name is unique over all of them.

Each template holds one SELECT. It names its inputs only through three
helpers, in the manner of dbt:

``ref('name')``
    another model; returns the quoted table name and records the dependency.
``source('name')``
    a raw store table or view (``runs``, ``metrics``, ``measures``,
    ``diagrams``, ``gaps``); returns the quoted name.
``param('name', default)``
    a value; returns the DuckDB named parameter ``$name`` and records it. The
    value is *bound* at execution, never spliced into the SQL text. Cast it in
    the template where its type matters (``$epoch::INTEGER``), in particular
    when it may be NULL.

Jinja runs with ``StrictUndefined``: any other variable is an error. DuckDB
views cannot hold bound parameters, so each model is materialised with
``CREATE OR REPLACE [TEMP] TABLE <name> AS <select>`` and its parameters, in
dependency order (a topological sort of the ``ref`` graph; a cycle is an error
that names it).
"""

from __future__ import annotations

import importlib.resources
import pathlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import jinja2

from core.errors import suggest
from core.schema import SCHEMAS, VIEWS

#: Raw store tables and views that ``source()`` may name.
SOURCES: tuple[str, ...] = (*SCHEMAS, *VIEWS)

_MISSING = object()


class SqlTemplateError(ValueError):
    """A SQL template is malformed, refers to an unknown name, or lacks a value."""


def shared_template_dir() -> pathlib.Path:
    """Directory of the SQL models shared by several report kinds (``templates/sql``)."""
    return pathlib.Path(str(importlib.resources.files("templates") / "sql"))


def default_template_dirs() -> list[pathlib.Path]:
    """Every packaged SQL model's directory: the shared one, then each kind's folder that has models, by name."""
    kinds = pathlib.Path(str(importlib.resources.files("reports") / "kinds"))
    return [shared_template_dir(), *sorted(d for d in kinds.iterdir() if d.is_dir() and any(d.glob("*.sql.j2")))]


def quote_ident(name: str) -> str:
    """Quote ``name`` as a DuckDB identifier (``"a""b"`` for ``a"b``)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Model:
    """One rendered SQL model.

    Attributes
    ----------
    name : str
        Model (and table) name, the template's file name without ``.sql.j2``.
    sql : str
        The rendered SELECT, with ``$name`` placeholders for its parameters.
    refs : tuple of str
        Models it reads through ``ref()``, in order of first use.
    sources : tuple of str
        Store tables it reads through ``source()``.
    params : tuple of str
        Parameters it binds through ``param()``, in order of first use.
    defaults : dict
        Defaults given in the template, ``{param name: value}``.
    """

    name: str
    sql: str
    refs: tuple[str, ...]
    sources: tuple[str, ...]
    params: tuple[str, ...]
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def bind(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The values bound for this model: ``params`` over the template defaults.

        Raises
        ------
        SqlTemplateError
            If a parameter has neither a value nor a default.
        """
        values = {}
        for p in self.params:
            if p in params:
                values[p] = params[p]
            elif p in self.defaults:
                values[p] = self.defaults[p]
            else:
                raise SqlTemplateError(
                    f"Model {self.name!r} binds parameter {p!r} but no value was given "
                    f"and the template has no default. Pass params={{{p!r}: ...}}."
                )
        return values

    def statement(self, *, temp: bool = False) -> str:
        """``CREATE OR REPLACE [TEMP] TABLE "<name>" AS <sql>``."""
        kind = "TEMP TABLE" if temp else "TABLE"
        return f"CREATE OR REPLACE {kind} {quote_ident(self.name)} AS\n{self.sql}"


class SqlProject:
    """The SQL models of one or more template directories.

    Parameters
    ----------
    template_dirs : path-like or sequence of path-like, optional
        Directories of ``<name>.sql.j2`` files, searched together; defaults to
        every packaged one (:func:`default_template_dirs`).
    sources : sequence of str, optional
        Names ``source()`` accepts; defaults to :data:`SOURCES`.

    Raises
    ------
    SqlTemplateError
        Two directories hold a model of the same name.
    """

    def __init__(self, template_dirs: str | pathlib.Path | Sequence[str | pathlib.Path] | None = None,
                 *, sources: Iterable[str] = SOURCES) -> None:
        if template_dirs is None:
            template_dirs = default_template_dirs()
        elif isinstance(template_dirs, (str, pathlib.Path)):
            template_dirs = [template_dirs]
        self.template_dirs = [pathlib.Path(d) for d in template_dirs]
        self._files = _model_files(self.template_dirs)
        self.sources = tuple(sources)
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(d) for d in self.template_dirs]),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
        )
        self._cache: dict[str, Model] = {}

    def names(self) -> list[str]:
        """Sorted names of the models (template files ``*.sql.j2``)."""
        return sorted(self._files)

    def render(self, name: str) -> Model:
        """Render model ``name`` and record its refs, sources and parameters.

        Raises
        ------
        SqlTemplateError
            Unknown model, source or ref; an undefined template variable; a
            template that is not exactly one SELECT; a name that shadows a source.
        """
        if name in self._cache:
            return self._cache[name]
        known = self.names()
        if name not in known:
            raise SqlTemplateError(
                f"Unknown SQL model {name!r}; expected one of {known} "
                f"(files <name>.sql.j2 in {', '.join(d.name for d in self.template_dirs)})."
                f"{suggest(name, known)}")
        if name in self.sources:
            raise SqlTemplateError(
                f"SQL model {name!r} has the name of the store table source({name!r}) and "
                f"would overwrite it. Rename {name}.sql.j2.")
        refs: list[str] = []
        sources: list[str] = []
        params: list[str] = []
        defaults: dict[str, Any] = {}

        def ref(target: str) -> str:
            if target not in known:
                raise SqlTemplateError(
                    f"{name}.sql.j2: ref({target!r}) names no model; expected one of "
                    f"{known}.{suggest(target, known)}")
            if target not in refs:
                refs.append(target)
            return quote_ident(target)

        def source(target: str) -> str:
            if target not in self.sources:
                raise SqlTemplateError(
                    f"{name}.sql.j2: source({target!r}) names no store table; expected one "
                    f"of {list(self.sources)}.{suggest(target, self.sources)}")
            if target not in sources:
                sources.append(target)
            return quote_ident(target)

        def param(pname: str, default: Any = _MISSING) -> str:
            if not pname.isidentifier():
                raise SqlTemplateError(
                    f"{name}.sql.j2: param({pname!r}) must be a Python identifier.")
            if pname not in params:
                params.append(pname)
            if default is not _MISSING:
                defaults.setdefault(pname, default)
            return "$" + pname

        try:
            sql = self._env.get_template(f"{name}.sql.j2").render(
                ref=ref, source=source, param=param)
        except jinja2.UndefinedError as err:
            raise SqlTemplateError(
                f"{name}.sql.j2: {err}. Templates see only ref(), source() and param(); "
                f"bind values with param('name').") from err
        except jinja2.TemplateSyntaxError as err:
            raise SqlTemplateError(f"{name}.sql.j2:{err.lineno}: {err.message}") from err
        _check_single_select(name, sql)
        model = Model(name, sql.strip(), tuple(refs), tuple(sources), tuple(params), defaults)
        self._cache[name] = model
        return model

    def plan(self, names: Iterable[str]) -> list[Model]:
        """Models ``names`` and everything they ``ref``, dependencies first.

        Raises
        ------
        SqlTemplateError
            If the ``ref`` graph has a cycle; the message names it (``a -> b -> a``).
        """
        order: list[Model] = []
        state: dict[str, str] = {}  # "visiting" or "done"
        stack: list[str] = []

        def visit(n: str) -> None:
            if state.get(n) == "done":
                return
            if state.get(n) == "visiting":
                cycle = stack[stack.index(n):] + [n]
                raise SqlTemplateError(
                    "SQL models form a cycle through ref(): " + " -> ".join(cycle)
                    + ". Break it by removing one of these ref() calls.")
            state[n] = "visiting"
            stack.append(n)
            model = self.render(n)
            for dep in model.refs:
                visit(dep)
            stack.pop()
            state[n] = "done"
            order.append(model)

        for n in names:
            visit(n)
        return order

    def materialise(self, con: duckdb.DuckDBPyConnection, names: Iterable[str],
                    params: Mapping[str, Any] | None = None, *,
                    temp: bool = False) -> list[Model]:
        """Create tables for ``names`` and their dependencies, in dependency order.

        Parameters
        ----------
        con : duckdb.DuckDBPyConnection
            Connection to the store.
        names : iterable of str
            Models to build.
        params : mapping, optional
            Parameter values by name, shared by all models; each model is bound
            only the ones it uses (over its template defaults).
        temp : bool, default False
            Create ``TEMP`` tables (possible on a read-only connection).

        Returns
        -------
        list of Model
            The models executed, in execution order.
        """
        params = dict(params or {})
        models = self.plan(names)
        for model in models:
            try:
                con.execute(model.statement(temp=temp), model.bind(params))
            except duckdb.Error as err:
                raise SqlTemplateError(f"{model.name}.sql.j2 failed in DuckDB: {err}") from err
        return models


def _model_files(dirs: Sequence[pathlib.Path]) -> dict[str, pathlib.Path]:
    """Model name -> its file, over ``dirs``; a name in two directories is an error."""
    files: dict[str, pathlib.Path] = {}
    for d in dirs:
        for path in sorted(d.glob("*.sql.j2")):
            name = path.name[: -len(".sql.j2")]
            if name in files:
                raise SqlTemplateError(f"SQL model {name!r} is defined twice: {files[name]} and {path}. "
                                       f"Model names are table names; rename one.")
            files[name] = path
    return files


def _check_single_select(name: str, sql: str) -> None:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as err:
        raise SqlTemplateError(f"{name}.sql.j2 does not parse: {err}") from err
    kinds = [s.type for s in statements]
    if kinds != [duckdb.StatementType.SELECT]:
        raise SqlTemplateError(
            f"{name}.sql.j2 must hold exactly one SELECT; found {len(kinds)} statement(s) "
            f"of type(s) {[k.name for k in kinds]}.")
