"""Test session set-up."""

import os

import torch


def pytest_configure(config):
    # Under pytest-xdist each worker gets its share of the cores: OpenMP
    # threads that outnumber cores spin against each other and can make
    # small-network training many times slower.
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))
