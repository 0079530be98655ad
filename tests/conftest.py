"""Shared test setup: import gankit from src/ without installing it, and find shared data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Tests use tiny models: one thread per process is as fast and keeps parallel runs and the
# CLI subprocesses they start from fighting over the cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))
# Subprocesses (`python -m gankit`, torchrun workers) import this checkout too, not whatever
# gankit happens to be installed.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))

# Real MNIST / Fashion-MNIST .gz files (``<SHARED_DATA>/mnist/...``); tests skip without them.
SHARED_DATA = Path(os.environ.get("GANKIT_TEST_DATA") or REPO.parent / "shared" / "datasets")


@pytest.fixture
def shared_data() -> Path:
    """The shared datasets folder, or a skip saying where it was looked for."""
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.skip(f"no shared datasets at {SHARED_DATA} (set GANKIT_TEST_DATA)")
    return SHARED_DATA
