"""Fixtures shared by the measure tests."""

import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread, as a worker runs: thousands of tiny forward passes pay no thread-pool overhead."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
