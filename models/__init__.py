"""genlab's models: data sets, architectures, the training loop and regularisers."""

from models import architectures, data, training, vision, zoo  # noqa: F401  (registers the built-ins)
