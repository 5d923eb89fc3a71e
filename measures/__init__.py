"""genlab's generalization measures: a registry, shared providers and the measure families.

Every module of the package is imported by the registry (:data:`measures.registry.MEASURES`)
before its first lookup, which registers the measures it defines: a new measure
is a new file, nothing else to edit.
"""

#: Not imported by the registry's discovery: the providers register nothing and import torch.
__not_plugins__ = ("providers",)
