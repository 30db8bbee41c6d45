"""Shared fixtures: the real-data folder (skips when absent) and quiet, deterministic torch."""
import os
from pathlib import Path

import pytest

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RECEXPLAIN_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: starts subprocesses (a script, `accelerate launch`, a clean interpreter); "
                                       "`-m 'not slow'` leaves them out, the README's test command and CI run them")


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """`../shared/data`; tests that use it skip cleanly when it is missing."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} not present")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _seed_torch():
    import torch

    torch.manual_seed(0)
    yield
