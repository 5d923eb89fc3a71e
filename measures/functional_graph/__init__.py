"""Functional graphs of a network and the persistent homology of their clique complexes.

Corneanu et al., CVPR 2019 and CVPR 2020: :mod:`.graph` builds the nodes and
the correlation distances and computes the persistence diagrams,
:mod:`.betti` turns a diagram into a Betti curve and its summaries, and
:mod:`.measure` registers the measure ``functional_graph``.
"""
