"""The baseline generalization measures of Jiang et al. 2020, *Fantastic generalization measures and where to find them*.

Jiang, Neyshabur, Mobahi, Krishnan and Bengio (ICLR 2020), Appendix C,
define the complexity measures their large-scale study ranks; the equation
numbers below are theirs.

- :mod:`measures.baselines.margin`: the output margin (10th percentile) and
  the inverse margin (Eq. 22);
- :mod:`measures.baselines.norms`: the number of parameters (Eq. 20),
  products and sums of spectral and Frobenius norms with and without the
  margin (Eqs. 29-39), distances to initialisation and the parameter norm
  (Eqs. 40-42);
- :mod:`measures.baselines.path_norm`: the path norm with and without the
  margin (Eqs. 43-44);
- :mod:`measures.baselines.pac_bayes`: PAC-Bayes bounds and flatness from a
  searched Gaussian perturbation scale, plain and magnitude-aware
  (Eqs. 48, 49, 53, 56, 57, 61). The worst-case sharpness variants, whose
  scale comes from an adversarial (gradient-ascent) perturbation search
  rather than Gaussian noise, are not implemented;
- :mod:`measures.baselines.optimisation`: epochs to reach a training
  cross-entropy of 0.1 and from 0.1 to 0.01 (the paper's optimisation-based
  measures, counted in optimiser steps there).

As in Neyshabur's and Dziugaite et al.'s reference code, batch normalisation
is folded into the layer before it (:mod:`functional.batchnorm_folding`)
before weights are read. Measures are the paper's quantities themselves,
log forms where the paper takes logs; the reference code's monotone
adjustment for the training-set size (``sqrt(mu / m)``, or
``(log mu - log m) / 2`` for log forms) is left out: it changes no ranking
among runs on one data set.
"""
