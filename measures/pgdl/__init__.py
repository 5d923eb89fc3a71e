"""The winning measures of the NeurIPS 2020 competition *Predicting Generalization in Deep Learning*.

Jiang et al. 2020 (arXiv 2012.07976) describe the competition; its three
winners, the "SOTA measures" that Ballester et al. 2023 compare against, are:

1. team **Interpex**: Natekar and Sharma 2020 (arXiv 2012.02775), the
   Davies-Bouldin index of an early layer's representations times one minus
   the accuracy on label-wise mixed-up inputs (:mod:`measures.pgdl.interpex`);
2. team **Always Generalize** (runner-up): Aithal, Kashyap and Subramanyam
   2021 (arXiv 2101.06459), the robustness of the network's prediction to
   seven input augmentations (:mod:`measures.pgdl.always_generalize`);
3. team **BrAIn**: Lassance et al. 2020 (arXiv 2011.12737), the variation of
   mixed-up labels over a nearest-neighbour graph of penultimate
   representations (:mod:`measures.pgdl.brain`).

Each module registers one measure; the helper modules hold the pieces
(Davies-Bouldin index, label-wise mixup, augmentations, latent geometry
graphs, running a network from or up to a block).
"""
