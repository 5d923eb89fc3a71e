"""Report ``persistence``: persistence diagrams, Betti curves and diagram summaries by sweep axis.

Options in :mod:`.options`, statistics and tables in :mod:`.compute`, the
document in :mod:`.document`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports.kinds import register_kind
from reports.kinds.persistence.options import KIND, TITLE, PersistenceConfig

if TYPE_CHECKING:  # the compute and the document (duckdb, polars, statistics) load when the kind is built
    import duckdb

    from core.catalog import Catalog
    from reports.document import Report


@register_kind(KIND, order=60, title=TITLE, options=PersistenceConfig,
               summary="Persistence diagrams of representative runs, Betti curves and diagram summaries by "
                       "sweep axis")
def build(con: duckdb.DuckDBPyConnection, options: PersistenceConfig | None = None,
          catalog: Catalog | None = None) -> Report:
    """Compute the ``persistence`` report and return its document.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store (writable).
    options : PersistenceConfig, optional
    catalog : core.catalog.Catalog, optional
        Not used; the kinds' common signature.

    Returns
    -------
    reports.document.Report
    """
    from reports.kinds.persistence.compute import compute
    from reports.kinds.persistence.document import document

    return document(con, compute(con, options, catalog))
