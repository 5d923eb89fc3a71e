"""genlab's models: data sets, architectures, the training loop and regularisers."""

#: Subpackages the plugin registries do not import: the training loop registers
#: nothing, and importing it would import torch (see core.registry).
__not_plugins__ = ("training",)
