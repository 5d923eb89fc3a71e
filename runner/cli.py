"""The ``runner`` command line: plan, apply, sql, report, list."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from runner.errors import ManifestError

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # never break paths in messages

SYMBOLS = {"+": "[green]+[/]", "~": "[yellow]~[/]", "=": "[dim]=[/]", "-": "[red]-[/]"}


def _load(manifest: str):
    from runner.manifest import load_manifest

    try:
        return load_manifest(manifest)
    except ManifestError as exc:
        err_console.print(str(exc), markup=False, highlight=False)
        sys.exit(2)
    except FileNotFoundError:
        err_console.print(f"manifest {manifest} not found", markup=False)
        sys.exit(2)


def _plan(m, st):
    """The plan of manifest ``m`` against store ``st``; exit 2 when its runs cannot be resolved (missing files)."""
    from runner.plan import make_plan

    try:
        return make_plan(m, st)
    except ManifestError as exc:
        err_console.print(str(exc), markup=False, highlight=False)
        sys.exit(2)


def _store(m, store: str | None):
    from runner.store import Store

    return Store(store or m.experiment.store_path)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="genlab")
def main() -> None:
    """genlab: train populations of networks, measure them, and test which measure predicts the generalization gap."""


store_option = click.option("--store", type=click.Path(file_okay=False), default=None,
                            help="Result store directory (default: the manifest's experiment.store).")


def _compact(st) -> None:
    """Fold finished runs' shards into the compacted parts (see runner.compaction); a failure only warns."""
    from runner.compaction import compact

    try:
        done = compact(st.root)
    except OSError as exc:
        err_console.print(f"warning: compaction stopped, nothing lost: {exc}", markup=False)
        return
    if done.skipped:
        err_console.print(f"note: not compacted: {done.skipped}", markup=False)


def _say_if_disk_full(st, errors, n_left: int) -> None:
    """One clear line when runs failed because the store's disk is full: where, how much is free, what to do."""
    import shutil

    if not any("No space left on device" in e or "Errno 28" in e or "Disk quota exceeded" in e for e in errors):
        return
    free = shutil.disk_usage(st.root).free
    done = [d for d in (st.root / "runs").glob("*") if (d / "state.json").exists()]
    used = sum(f.stat().st_size for d in done for f in d.rglob("*") if f.is_file())
    per_run = used / max(len(done), 1)
    err_console.print(f"error: the store {st.root} ran out of disk space ({free / 2**20:.1f} MiB free); about "
                      f"{per_run * n_left / 2**20:.1f} MiB more are needed for the {n_left} runs left "
                      f"({per_run / 2**20:.2f} MiB per run so far). Finished runs are kept: free space and run "
                      f"`runner apply` again to resume.", markup=False)


def _refresh(st) -> None:
    """Refresh the database's views; a locked database only warns (the Parquet files hold everything)."""
    import duckdb

    try:
        st.connect().close()
    except (OSError, duckdb.Error) as exc:
        err_console.print(f"warning: the database views were not refreshed ({exc}); the Parquet files hold every "
                          "result and the next command that opens the store refreshes them", markup=False)


def _print_run(items, verbose: bool) -> None:
    shown = items if verbose else [i for i in items if i.action != "="]
    measurements = [i for i in shown if i.what not in ("train", "run")]
    groups = {(i.action, i.reason) for i in measurements}
    for i in shown:
        if i.what in ("train", "run") or len(groups) > 1 or len(measurements) < 4 or verbose:
            console.print(f"  {SYMBOLS[i.action]} {i.what}: {i.reason}", highlight=False)
    if len(groups) == 1 and len(measurements) >= 4 and not verbose:
        action, reason = groups.pop()
        names = sorted({i.what.split(" @ ")[0] for i in measurements})
        epochs = sorted({int(i.what.rsplit(" ", 1)[1]) for i in measurements})
        console.print(f"  {SYMBOLS[action]} {len(measurements)} measurements ({', '.join(names)} "
                      f"@ epochs {', '.join(map(str, epochs))}): {reason}", highlight=False)


def _print_plan(plan, verbose: bool) -> None:
    counts = plan.counts()
    by_run: dict[str, list] = {}
    for item in plan.items:
        by_run.setdefault(item.run_id, []).append(item)
    shown = 0
    for rid, items in by_run.items():
        changes = [i for i in items if i.action != "="]
        if not changes and not verbose:
            continue
        shown += 1
        if shown > 40 and not verbose:
            console.print(f"  ... {len(by_run) - 40} more runs (use --verbose)")
            break
        console.print(f"[bold]{rid}[/] {plan.labels.get(rid, '')}")
        _print_run(items, verbose)
    console.print(
        f"\nPlan: {counts['+', 'run']} runs to train, {counts['+', 'measurement']} measurements to compute, "
        f"{counts['~', 'measurement']} stale, {counts['=', 'run']} runs and {counts['=', 'measurement']} "
        f"measurements done, {counts['-', 'run']} runs and {counts['-', 'measurement']} measurements "
        "in the store but not in the manifest.", highlight=False)


@main.command()
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@store_option
@click.option("-v", "--verbose", is_flag=True, help="Show every item, done ones included.")
def plan(manifest: str, store: str | None, verbose: bool) -> None:
    """Show the run matrix: what would be trained and measured, what is done."""
    m = _load(manifest)
    p = _plan(m, _store(m, store))
    _print_plan(p, verbose)


def _interrupt_on_sigterm() -> list:
    """Handle SIGTERM (what a scheduler or `kill` sends) like Ctrl-C: workers stop, state is kept.

    Returns a list that holds the signal number once SIGTERM has arrived.
    """
    import signal

    seen: list = []

    def handler(signum, frame):
        seen.append(signum)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the coordinator at once
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    return seen


@main.command()
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@store_option
def compact(manifest: str, store: str | None) -> None:
    """Fold the per-run shards of finished runs into few large sorted Parquet files (safe at any time)."""
    from runner.compaction import compact as run_compaction

    st = _store(_load(manifest), store)
    if not (st.root / "runs").is_dir():
        err_console.print(f"no result store at {st.root}; run `runner apply MANIFEST` first", markup=False)
        sys.exit(1)
    done = run_compaction(st.root)
    if done.skipped:
        err_console.print(f"not compacted: {done.skipped}", markup=False)
        sys.exit(1)
    _refresh(st)
    rows = ", ".join(f"{t} {n}" for t, n in done.rows.items()) or "nothing new"
    console.print(f"compacted {done.shards} shards of {done.runs} runs into generation {done.generation} ({rows})")


@main.command()
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@store_option
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: manifest, else one per GPU slot, else one per CPU core).")
def apply(manifest: str, store: str | None, workers: int | None) -> None:
    """Train and measure what the store is missing, then refresh the database."""
    from runner.executor import LocalExecutor
    from runner.progress import ApplyProgress

    m = _load(manifest)
    st = _store(m, store)
    if (st.root / "runs").is_dir():  # files a killed process was writing: never complete, never read
        from runner.files import remove_stale_temporaries

        remove_stale_temporaries(st.root / "runs")
    p = _plan(m, st)
    if p.empty:
        counts = p.counts()
        console.print(f"Nothing to do: {counts['=', 'run']} runs and {counts['=', 'measurement']} "
                      f"measurements are up to date in {st.root}.")
        return
    _print_plan(p, verbose=False)
    ex = m.executor
    executor = LocalExecutor(workers or ex.workers, ex.runs_per_gpu, ex.threads_per_worker)
    console.print(f"\nApplying {len(p.tasks)} tasks on {executor.workers} workers ...")
    terminated = _interrupt_on_sigterm()
    try:
        with ApplyProgress(console, len(p.tasks), p.labels) as progress:
            outcome = executor.run(p.tasks, progress)
    except KeyboardInterrupt:
        err_console.print("Interrupted: finished work is stored; run `runner apply` again to resume.")
        _refresh(st)
        sys.exit(143 if terminated else 130)
    _compact(st)
    _refresh(st)
    not_run = [t.run_id for t in p.tasks if t.run_id not in outcome.done and t.run_id not in outcome.failed]
    console.print(f"{len(outcome.done)} runs done, {len(outcome.failed)} failed, store: {st.root}")
    if outcome.failed or not_run:
        for rid, msg in outcome.failed.items():
            err_console.print(f"failed {rid} {p.labels.get(rid, '')}: {msg.splitlines()[0] if msg else ''}",
                              markup=False)
        for rid in not_run:
            err_console.print(f"not run {rid} {p.labels.get(rid, '')}", markup=False)
        err_console.print("Tracebacks: runner sql MANIFEST \"SELECT run_id, error FROM runs WHERE status='failed'\"",
                          markup=False)
        _say_if_disk_full(st, outcome.failed.values(), len(outcome.failed) + len(not_run))
        sys.exit(1)


@main.command()
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@click.argument("query")
@store_option
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "parquet"]), default="table")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the result to this file (required for parquet).")
def sql(manifest: str, query: str, store: str | None, fmt: str, output: str | None) -> None:
    """Run a read-only SQL QUERY over the store (tables: runs, metrics, measures, diagrams, gaps, timings).

    Only statements that read run (SELECT, WITH, FROM, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN of a SELECT);
    COPY, EXPORT, ATTACH, CREATE, INSERT, SET, INSTALL and LOAD are refused. A query may read other files
    (read_parquet, read_csv); relative paths are resolved against the store directory.
    """
    import duckdb

    from runner.readonly import ReadOnlyError, check_read_only, lock

    m = _load(manifest)
    try:
        statements = check_read_only(query)
        con = _store(m, store).connect(read_only=True)
        lock(con)
        for statement in statements[:-1]:
            con.execute(statement)
        df = con.sql(statements[-1]).pl()
    except (FileNotFoundError, ReadOnlyError) as exc:
        err_console.print(str(exc), markup=False)
        sys.exit(1 if isinstance(exc, FileNotFoundError) else 2)
    except duckdb.Error as exc:
        err_console.print(f"SQL error: {exc}", markup=False)
        sys.exit(1)
    if fmt == "parquet":
        if not output:
            raise click.UsageError("--format parquet needs --output FILE")
        df.write_parquet(output)
    elif fmt in ("csv", "json"):
        text = _flat(df).write_csv() if fmt == "csv" else df.write_json()
        Path(output).write_text(text) if output else click.echo(text, nl=False)
    else:
        table = Table(show_lines=False)
        for name in df.columns:  # fold long cells instead of cutting them with an ellipsis
            table.add_column(name, overflow="fold")
        for row in df.iter_rows():
            table.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row))
        console.print(table)
        console.print(f"[dim]{df.height} rows[/]")


def _flat(df):
    """``df`` with list and struct columns as JSON text (CSV has no nested values)."""
    import json

    import polars as pl

    nested = [c for c, t in df.schema.items() if isinstance(t, (pl.List, pl.Array, pl.Struct))]
    return df.with_columns(pl.Series(c, [None if v is None else json.dumps(v, default=str)
                                         for v in df[c].to_list()], dtype=pl.Utf8) for c in nested)


@main.command()
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False), required=False)
@store_option
@click.option("--kind", "kinds", multiple=True, help="Report kind (repeatable; default: the manifest's [[reports]]).")
@click.option("--format", "fmt", type=click.Choice(["html", "latex", "both"]), default=None,
              help="Output format (default: each [[reports]] entry's formats, else both).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output directory (default: STORE/reports).")
@click.option("--list", "list_kinds", is_flag=True, help="List the report kinds and exit.")
def report(manifest: str | None, store: str | None, kinds: tuple[str, ...], fmt: str | None, out: str | None,
           list_kinds: bool) -> None:
    """Render reports from the store as HTML and LaTeX; print their paths."""
    from reports.kinds import check_kind, kind_options, kind_summary
    from reports.kinds import list_kinds as report_kinds
    from reports.render import build_report

    if list_kinds:
        for name in report_kinds():
            console.print(f"{name:24s} {kind_summary(name)}")
        return
    if manifest is None:
        raise click.UsageError("MANIFEST is required (or --list)")
    m = _load(manifest)
    chosen = list(kinds) or [r.kind for r in m.reports] or ["gap_regression"]
    for kind in chosen:
        try:
            check_kind(kind)
        except ValueError as exc:
            raise click.UsageError(f"--kind: {exc}") from None
    st = _store(m, store)
    try:
        st.require()  # a report needs runs; never create an empty store
    except FileNotFoundError as exc:
        err_console.print(str(exc), markup=False)
        sys.exit(1)
    entries = {r.kind: r for r in m.reports}  # one entry per kind (checked with the manifest)
    options = {k: kind_options(k, r.options) for k, r in entries.items()}
    catalog = _measure_catalog()
    try:
        con = st.connect()
    except OSError as exc:  # held open for writing by another process: it says which
        err_console.print(f"cannot write the report tables: {exc}", markup=False)
        sys.exit(1)
    paths = []
    try:
        for kind in chosen:
            if fmt is not None:
                formats = ("html", "latex") if fmt == "both" else (fmt,)
            else:
                formats = entries[kind].formats if kind in entries else ("html", "latex")
            paths += build_report(con, [kind], Path(out) if out else st.root / "reports", manifest_text=m.text,
                                  title=m.experiment.name, formats=formats, options=options, catalog=catalog)
    finally:
        con.close()
    for path in paths:
        click.echo(str(path))


def _measure_catalog() -> dict:
    """The statistics every registered measure declares (measure name -> tuple of Statistic), for the reports."""
    from measures.registry import get_measure, list_measures

    return {name: get_measure(name).statistics for name in list_measures()}


@main.command(name="list")
@click.argument("what", type=click.Choice(["models", "datasets", "measures", "regularisers", "reports"]))
def list_(what: str) -> None:
    """List registered models, datasets, measures, regularisers or reports."""
    if what == "models":
        from models.architectures import get_model, list_models

        rows = [(n, get_model(n).paper) for n in list_models()]
    elif what == "datasets":
        from models.data import list_datasets

        rows = [(n, "") for n in list_datasets()]
    elif what == "measures":
        from measures.registry import get_measure, list_measures

        rows = [(n, f"{get_measure(n).paper} (v{get_measure(n).version})") for n in list_measures()]
    elif what == "regularisers":
        from models.regularisers import get_regulariser, list_regularisers

        rows = [(n, get_regulariser(n).paper) for n in list_regularisers()]
    else:
        from reports.kinds import kind_summary, list_kinds

        rows = [(n, kind_summary(n)) for n in list_kinds()]
    table = Table("name", "reference")
    for r in rows:
        table.add_row(*r)
    console.print(table)


if __name__ == "__main__":
    main()
