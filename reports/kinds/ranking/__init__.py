"""Report ``ranking``: measures ranked by how well they order networks by their gap.

Options in :mod:`.options`, statistics and tables in :mod:`.compute`, the
document in :mod:`.document`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports.kinds import register_kind
from reports.kinds.ranking.options import KIND, TITLE, RankingConfig

if TYPE_CHECKING:  # the compute and the document (duckdb, polars, statistics) load when the kind is built
    import duckdb

    from core.catalog import Catalog
    from reports.document import Report


@register_kind(KIND, order=20, title=TITLE, options=RankingConfig,
               summary="Measures ranked by Kendall tau-a with the gap (bootstrap interval, Holm/BH p-values); "
                       "granulated psi per sweep axis and Psi; PGDL CMI score; robust sign-error")
def build(con: duckdb.DuckDBPyConnection, options: RankingConfig | None = None,
          catalog: Catalog | None = None) -> Report:
    """Compute the ``ranking`` report and return its document.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store (writable).
    options : RankingConfig, optional
    catalog : core.catalog.Catalog, optional
        The measures' declared statistics: the sign of each (its oriented tau).

    Returns
    -------
    reports.document.Report
    """
    from reports.kinds.ranking.compute import compute
    from reports.kinds.ranking.document import document

    return document(con, compute(con, options, catalog))
