"""Shared test fixtures: where the real data samples live."""
import os
from pathlib import Path

import pytest

#: ../shared/data/real beside the checkout (see its README).
#: SIMPLEPOSE_REAL_DATA overrides it (e.g. for a checkout in a nested worktree folder).
REAL_DATA = Path(os.environ.get("SIMPLEPOSE_REAL_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real")


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"real data samples not found at {REAL_DATA}")
    return REAL_DATA
