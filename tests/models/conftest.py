import pytest

from tests.models.vision_files import write_all


@pytest.fixture(scope="session")
def vision_root(tmp_path_factory):
    """A folder holding small mnist, fashion_mnist, cifar10 and svhn files in their real formats."""
    root = tmp_path_factory.mktemp("vision")
    write_all(root)
    return root
