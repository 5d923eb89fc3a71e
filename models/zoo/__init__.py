"""The networks the papers train, each registered with :func:`models.architectures.register_model`.

``lenet`` (Corneanu et al.), ``vgg`` and ``nin`` (the PGDL competition's task-1
and task-2 families), ``resnet`` (ResNet-18 for 32x32 images). The architecture
registry imports every module here before its first lookup.
"""
