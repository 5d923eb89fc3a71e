"""genlab's core: the plugin registry, the error types with did-you-mean, the store schema.

The lowest floor of the package graph: it imports nothing of genlab, and every
other package may import it.
"""
