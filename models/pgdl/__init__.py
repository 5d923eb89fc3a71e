"""The PGDL competition's networks and data, imported without TensorFlow.

The public data of the NeurIPS 2020 competition *Predicting Generalization in
Deep Learning* (Jiang et al. 2020, arXiv 2012.07976) is one zip file,
``public_data.zip``, holding two tasks: ``task1_v4`` (96 VGG-like networks
trained on CIFAR-10) and ``task2_v1`` (54 Network-in-Network networks trained
on SVHN). Its layout, under the folder a manifest names as ``root``::

    input_data/<task>/dataset_1/{train,test}/shard_*.tfrecord
    input_data/<task>/model_<id>/{config.json, weights.hdf5, weights_init.hdf5}
    reference_data/<task>/model_configs.json

- :mod:`models.pgdl.files`: that layout, and the message naming what is missing;
- :mod:`models.pgdl.tfrecord`: TFRecord framing (length and masked CRC32C,
  both checked) and the ``tf.train.Example`` / ``TensorProto`` records, parsed
  with the protobuf classes of the ``tfrecord`` and ``tensorboardX`` packages;
- :mod:`models.pgdl.keras`: a model's Keras layer list as a
  :class:`~models.architectures.Network`;
- :mod:`models.pgdl.hdf5`: Keras's HDF5 weight files, read with h5py;
- :mod:`models.pgdl.data`: the data set ``pgdl``;
- :mod:`models.pgdl.model`: the architecture ``pgdl`` (imported, never trained).

These need the ``pgdl`` extra (``pip install 'genlab[pgdl]'``); they are
imported only when a PGDL network or data set is used.
"""

#: Not imported by the registries' discovery: they register nothing and import torch.
__not_plugins__ = ("hdf5", "keras", "layers")
