"""The networks the papers train, each registered with :func:`models.architectures.register_model`.

``lenet`` (Corneanu et al.), ``vgg`` and ``nin`` (the PGDL competition's task-1
and task-2 families), ``resnet`` (ResNet-18 for 32x32 images). Importing this
package registers them.
"""

from models.zoo import lenet, nin, resnet, vgg  # noqa: F401  (registers the architectures)
