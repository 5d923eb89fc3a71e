"""Report ``layers``: neural collapse layer by layer, for networks of growing depth.

Options in :mod:`.options`, statistics and tables in :mod:`.compute`, the
document in :mod:`.document`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports.kinds import register_kind
from reports.kinds.layers.options import KIND, TITLE, LayersConfig

if TYPE_CHECKING:  # the compute and the document (duckdb, polars, statistics) load when the kind is built
    import duckdb

    from core.catalog import Catalog
    from reports.document import Report


@register_kind(KIND, order=50, title=TITLE, options=LayersConfig,
               summary="Per-layer CDNV and NCC accuracy by network depth (Galanti et al. 2023); trend over "
                       "layers")
def build(con: duckdb.DuckDBPyConnection, options: LayersConfig | None = None,
          catalog: Catalog | None = None) -> Report:
    """Compute the ``layers`` report and return its document.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store (writable).
    options : LayersConfig, optional
    catalog : core.catalog.Catalog, optional
        Not used; the kinds' common signature.

    Returns
    -------
    reports.document.Report
    """
    from reports.kinds.layers.compute import compute
    from reports.kinds.layers.document import document

    return document(con, compute(con, options, catalog))
