"""genlab's generalization measures: a registry, shared providers and the measure families."""

from measures import activation_persistence, neural_collapse, weight_spectrum  # noqa: F401  (registers)
