import pytest

from tests.models import pgdl_files
from tests.models.vision_files import write_all


@pytest.fixture(scope="session")
def vision_root(tmp_path_factory):
    """A folder holding small mnist, fashion_mnist, cifar10 and svhn files in their real formats."""
    root = tmp_path_factory.mktemp("vision")
    write_all(root)
    return root


@pytest.fixture(scope="session")
def pgdl_root(tmp_path_factory):
    """A folder in the PGDL public data's layout (tasks task1_v4 and task2_v1), files in their real formats."""
    return pgdl_files.write_all(tmp_path_factory.mktemp("pgdl"))
