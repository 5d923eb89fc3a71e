"""Perturbation response curves and their Gi- and Pal-scores (Schiff, Quanz, Das and Chen 2021).

Schiff et al. (NeurIPS 2021, arXiv 2106.04765) record a network's training
accuracy as a function of the magnitude of a perturbation of one layer's
representation (inter- and intra-class mixup for the PGDL tasks) and
summarise the curve by two income-inequality statistics:

- :mod:`measures.perturbation.curves`: the perturbation response curves;
- :mod:`measures.perturbation.scores`: the perturbation cumulative density,
  the Gi-score (Gini coefficient) and the Pal-score (Palma ratio) of a curve;
- :mod:`measures.perturbation.measure`: the registered measure
  ``perturbation_response``.
"""
