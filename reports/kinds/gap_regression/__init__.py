"""Report ``gap_regression``: how well does each measure family predict the gap?

Options in :mod:`.options`, families in :mod:`.families`, statistics and tables
in :mod:`.compute`, the document in :mod:`.document`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports.kinds import register_kind
from reports.kinds.gap_regression.options import KIND, TITLE, GapRegressionConfig

if TYPE_CHECKING:  # the compute and the document (duckdb, polars, statistics) load when the kind is built
    import duckdb

    from core.catalog import Catalog
    from reports.document import Report


@register_kind(KIND, order=10, title=TITLE, options=GapRegressionConfig,
               summary="R² (5x2cv) of linear models of the gap on each measure family; 5x2cv tests; OLS; "
                       "Kendall tau")
def build(con: duckdb.DuckDBPyConnection, options: GapRegressionConfig | None = None,
          catalog: Catalog | None = None) -> Report:
    """Compute the ``gap_regression`` report and return its document.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store (writable).
    options : GapRegressionConfig, optional
    catalog : core.catalog.Catalog, optional
        The measures' declared statistics: the default feature families.

    Returns
    -------
    reports.document.Report
    """
    from reports.kinds.gap_regression.compute import compute
    from reports.kinds.gap_regression.document import document

    return document(con, compute(con, options, catalog))
