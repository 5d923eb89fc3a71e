"""The ``regulariser_comparison`` document, built from the tables the report stored.

Every number shown is read back from the store with the SQL shown beside it.
"""

from __future__ import annotations

from functools import partial

import duckdb

from reports.document import Column, Notice, Paragraph, Report, Section
from reports.document_parts import new_report, sql_table
from reports.formatting import pvalue, sig
from reports.kinds.regulariser_comparison.cd_diagram import cd_graphic
from reports.kinds.regulariser_comparison.compute import CRITERIA, KIND, TABLES, RegulariserComparisonResult
from reports.kinds.regulariser_comparison.options import TITLE

#: Heading of the document.

_MAX_LISTED = 8
#: Rows per table of the per-network results (a LaTeX table float does not break across pages).
_ROWS_PER_TABLE = 30

#: Tables of rows this kind computed in Python and stored.
_sql_table = partial(sql_table, computed=True)


def _p(p: float) -> str:
    text = pvalue(p)
    return f"p < {text[1:]}" if text.startswith("<") else f"p = {text}"


def _listed(items: list[str]) -> str:
    more = len(items) - _MAX_LISTED
    return "; ".join(items[:_MAX_LISTED]) + (f"; and {more} more" if more > 0 else "")


def _data_section(con: duckdb.DuckDBPyConnection, ctx: RegulariserComparisonResult) -> Section:
    cfg, d = ctx.config, ctx.design
    epoch = "the last epoch of each run" if cfg.epoch is None else f"epoch {cfg.epoch}"
    seeds = ("each seed is a network of its own" if cfg.seed_blocks
             else "the seeds of a network are averaged")
    n_networks = len(d.blocks) + len(d.incomplete)
    what = ("regularisers (each with the weight chosen per network)" if cfg.select_weight
            else "regulariser settings (name and weight)")
    sec = Section("Data", [Paragraph(
        f"{ctx.n_runs} runs (statuses: {', '.join(cfg.statuses)}) have a test accuracy "
        f"and a generalization gap (train minus test accuracy) at {epoch}. Blocks are the "
        f"network configurations (the sweep axes other than the regulariser's; {seeds}): "
        f"{n_networks}, of which {len(d.blocks)} were trained with every regulariser "
        f"setting. Methods are the {len(d.methods)} {what}: "
        f"{', '.join(d.methods) or 'none found'}.")])
    if d.incomplete:
        many = len(d.incomplete) > 1
        sec.blocks.append(Notice(
            f"{len(d.incomplete)} network configuration{'s' if many else ''} "
            f"lack{'' if many else 's'} some regulariser setting and "
            f"{'are' if many else 'is'} left out of the comparison: " + _listed(
                [f"{net or '(no axes)'} lacks {', '.join(miss)}" for _, net, miss in d.incomplete])
            + "."))
    if len(d.methods) < 2:
        sec.blocks.append(Notice(
            f"The store holds {len(d.methods)} regulariser setting(s); a comparison needs at "
            f"least 2 (3 for Friedman's test). Nothing was ranked."))
    elif len(d.blocks) < cfg.min_blocks:
        sec.blocks.append(Notice(
            f"Only {len(d.blocks)} network configurations have every regulariser setting; the "
            f"comparison needs at least {cfg.min_blocks} (option min_blocks). Nothing was ranked."))
    if cfg.select_weight:
        unvalidated = con.execute(f'SELECT count(*) FROM "{TABLES["cells"]}" '
                                  f"WHERE val_accuracy IS NULL").fetchall()[0][0]
        sec.blocks.append(Paragraph(
            "Each regulariser's weight is chosen per network as the one with the highest "
            "validation accuracy (Ballester et al.); the table of per-network results gives "
            "the weight chosen."))
        if unvalidated:
            sec.blocks.append(Notice(
                f"For {unvalidated} pairs of network and regulariser no weight has a validation "
                f"accuracy (no validation split); the smallest weight was taken."))
    multi = con.execute(f'SELECT count(*), max(n_runs) FROM "{TABLES["cells"]}" '
                        f"WHERE n_runs > 1").fetchall()[0]
    if multi[0] and cfg.seed_blocks:
        sec.blocks.append(Notice(
            f"{multi[0]} cells (network and setting) hold up to {multi[1]} runs with the same "
            f"sweep values; their mean is used."))
    return sec


def _criterion_section(con: duckdb.DuckDBPyConnection, ctx: RegulariserComparisonResult, c: str) -> Section:
    _, higher, label = CRITERIA[c]
    cfg = ctx.config
    n, k, chi2, p_chi2, f, p_f, q, cd, status = con.execute(
        f'SELECT n_blocks, n_methods, chi2, p_chi2, f, p_f, q_alpha, cd, status '
        f'FROM "{TABLES["tests"]}" WHERE criterion = ?', [c]).fetchall()[0]
    better = "higher" if higher else "lower"
    sec = Section(label[0].upper() + label[1:], [Paragraph(
        f"The {k} regulariser settings are ranked within each of the {n} networks by the "
        f"final {label} ({better} is better; rank 1 is the best, ties share their mean rank) "
        f"and the ranks averaged (Demšar 2006).")])
    if status == "ok":
        verdict = ("differ significantly" if p_f < cfg.alpha else "do not differ significantly; "
                   "Demšar (2006) reads the post-hoc tests below only when they do")
        sec.blocks.append(Paragraph(
            f"Friedman's test: chi\u00b2 = {sig(chi2)} ({k - 1} degrees of freedom, "
            f"{_p(p_chi2)}); Iman and Davenport's F = {sig(f)} ({k - 1} and "
            f"{(k - 1) * (n - 1)} degrees of freedom, {_p(p_f)}): the settings {verdict} "
            f"at alpha = {cfg.alpha}. Nemenyi's critical difference CD = q sqrt(k(k+1)/(6N)) = "
            f"{sig(cd)} (q = {sig(q)}, the studentized range quantile over sqrt 2)."))
    else:
        sec.blocks.append(Notice(f"{status}; Nemenyi's CD = {sig(cd)} is still shown."))
    ranks = con.execute(f'SELECT method, avg_rank FROM "{TABLES["methods"]}" '
                        f"WHERE criterion = ? ORDER BY position", [c]).fetchall()
    index = {m: i for i, (m, _) in enumerate(ranks)}
    cliques: dict[int, list[int]] = {}
    for g, m in con.execute(f'SELECT clique, method FROM "{TABLES["cliques"]}" WHERE criterion = ? '
                            f"AND test = 'nemenyi' ORDER BY clique, position", [c]).fetchall():
        cliques.setdefault(g, []).append(index[m])
    bars = (f"Thick bars join settings whose average ranks differ by less than CD = {sig(cd)} "
            f"(Nemenyi, alpha = {cfg.alpha}).")
    if status == "ok" and p_f >= cfg.alpha:  # Demšar: no post-hoc test when Friedman does not reject
        cliques = {0: list(range(len(ranks)))}
        bars = (f"Friedman's test does not reject at alpha = {cfg.alpha}, so no post-hoc test is "
                f"made and one bar joins all settings.")
    sec.blocks.append(cd_graphic(
        f"cd-{c}", f"Critical-difference diagram of the {label}: average rank of each setting "
        f"over {n} networks (best on the right). {bars}",
        [m for m, _ in ranks], [r for _, r in ranks], cd, [tuple(v) for v in cliques.values()]))
    sec.blocks.append(_sql_table(
        con, ctx, KIND, f"methods-{c}", f"The {label} of each regulariser setting over the networks: "
        f"mean, sample standard deviation and average rank.",
        f'SELECT method, n_blocks, mean, std, avg_rank FROM "{TABLES["methods"]}"\n'
        f"WHERE criterion = ? ORDER BY position",
        [Column("setting"), Column("networks", "int"), Column("mean", "num"),
         Column("std", "num"), Column("average rank", "num")], [c]))
    sec.blocks.append(_sql_table(
        con, ctx, KIND, f"pairs-{c}", f"Pairs of settings ({label}): difference of average ranks and "
        f"Nemenyi p-value; Wilcoxon signed-rank T, p-value and Holm-adjusted p-value.",
        f"SELECT method_a, method_b, rank_diff, nemenyi_p, wilcoxon_t, wilcoxon_p, holm_p,\n"
        f"       CASE WHEN holm_different THEN 'yes' ELSE 'no' END AS holm_different\n"
        f'FROM "{TABLES["pairs"]}" WHERE criterion = ? ORDER BY method_a, method_b',
        [Column("setting A"), Column("setting B"), Column("rank difference", "num"),
         Column("p (Nemenyi)", "p"), Column("T", "num"), Column("p (Wilcoxon)", "p"),
         Column("p (Holm)", "p"), Column("differ (Holm)")], [c]))
    groups: dict[int, list[str]] = {}
    for g, m in con.execute(f'SELECT clique, method FROM "{TABLES["cliques"]}" WHERE criterion = ? '
                            f"AND test = 'wilcoxon_holm' ORDER BY clique, position", [c]).fetchall():
        groups.setdefault(g, []).append(m)
    found = "; ".join("{" + ", ".join(v) + "}" for v in groups.values()) or "none (every pair differs)"
    sec.blocks.append(Paragraph(
        f"Runs of settings, in average-rank order, that the Wilcoxon-Holm tests cannot tell "
        f"apart (the bars a Wilcoxon-Holm diagram would draw): {found}."))
    return sec


def _cells_section(con: duckdb.DuckDBPyConnection, ctx: RegulariserComparisonResult) -> Section:
    sec = Section("Per-network results", [Paragraph(
        "The final test accuracy and generalization gap of every network and regulariser "
        "setting (mean over the runs of the cell), with their ranks within the network; "
        "networks left out of the comparison have no rank.")])
    n = con.execute(f'SELECT count(*) FROM "{TABLES["cells"]}"').fetchall()[0][0]
    parts = max(1, -(-n // _ROWS_PER_TABLE))
    for i in range(parts):
        part = f" (part {i + 1} of {parts})" if parts > 1 else ""
        sec.blocks.append(_sql_table(
            con, ctx, KIND, f"cells-{i + 1}", f"Every network and regulariser setting{part}.",
            f"SELECT network, method, weight, n_runs, test_accuracy, rank_accuracy, gen_gap,\n"
            f"       rank_gap\n"
            f'FROM "{TABLES["cells"]}" ORDER BY experiment, network, method\n'
            f"LIMIT {_ROWS_PER_TABLE} OFFSET {i * _ROWS_PER_TABLE}",
            [Column("network"), Column("setting"), Column("weight", "num"), Column("runs", "int"),
             Column("test accuracy", "num"), Column("rank", "num"), Column("gap", "num"),
             Column("rank", "num")]))
    return sec


def document(con: duckdb.DuckDBPyConnection, ctx: RegulariserComparisonResult) -> Report:
    """The ``regulariser_comparison`` report: its design, the rank tests of each criterion, the cells.

    Sections: Data (blocks, methods, cells left out); when ``ctx.enough``, one
    per criterion of :data:`reports.kinds.regulariser_comparison.compute.CRITERIA` (Friedman,
    CD diagram, methods, pairs); Per-network results.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store, with the tables ``compute`` wrote.
    ctx : RegulariserComparisonResult
        What :func:`reports.kinds.regulariser_comparison.compute.compute` returned.

    Returns
    -------
    reports.document.Report
    """
    report = new_report(KIND, TITLE, ctx)
    report.sections.append(_data_section(con, ctx))
    if ctx.enough:
        report.sections += [_criterion_section(con, ctx, c) for c in CRITERIA]
    report.sections.append(_cells_section(con, ctx))
    return report
