"""Experiments tests run single-threaded (the CI machine has 2 cores shared by several jobs)."""
import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> None:
    torch.set_num_threads(1)
