"""genlab's models: data sets, architectures, the training loop and regularisers."""
