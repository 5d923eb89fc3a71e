"""Pure functions shared by models, measures and reports.

Persistence (correlation distances, H0 by spanning tree, Rips H1, summaries,
vectorisations), neural-collapse metrics, weight spectra, EVBMF, batched
block-by-block forward passes and batch-norm folding. Nothing here knows about
manifests, registries or the store; it imports only :mod:`core` of genlab.
"""
