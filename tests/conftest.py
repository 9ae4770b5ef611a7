"""Shared test fixtures: where the real data samples live."""
from pathlib import Path

import pytest

#: ../shared/data/real beside the checkout (see its README).
REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"real data samples not found at {REAL_DATA}")
    return REAL_DATA
