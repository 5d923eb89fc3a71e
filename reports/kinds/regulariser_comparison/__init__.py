"""Report ``regulariser_comparison``: which regulariser setting trains the best networks?

Options in :mod:`.options`, statistics and tables in :mod:`.compute`, the
document in :mod:`.document`, its critical-difference diagrams in :mod:`.cd_diagram`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports.kinds import register_kind
from reports.kinds.regulariser_comparison.options import KIND, TITLE, RegulariserComparisonConfig

if TYPE_CHECKING:  # the compute and the document (duckdb, polars, statistics) load when the kind is built
    import duckdb

    from core.catalog import Catalog
    from reports.document import Report


@register_kind(KIND, order=30, title=TITLE, options=RegulariserComparisonConfig,
               summary="Regulariser settings ranked over networks: mean ± std, average ranks, Friedman, "
                       "Nemenyi CD diagrams and Wilcoxon-Holm tests of test accuracy and gap")
def build(con: duckdb.DuckDBPyConnection, options: RegulariserComparisonConfig | None = None,
          catalog: Catalog | None = None) -> Report:
    """Compute the ``regulariser_comparison`` report and return its document.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store (writable).
    options : RegulariserComparisonConfig, optional
    catalog : core.catalog.Catalog, optional
        Not used; the kinds' common signature.

    Returns
    -------
    reports.document.Report
    """
    from reports.kinds.regulariser_comparison.compute import compute
    from reports.kinds.regulariser_comparison.document import document

    return document(con, compute(con, options, catalog))
