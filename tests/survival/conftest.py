"""Fixtures of the survival tests: the shared IBM Telco data, resolved relative to the repository root."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
TELCO = REPO.parent / "shared" / "data" / "telco_churn.csv"


@pytest.fixture(scope="session")
def telco() -> pd.DataFrame:
    """IBM Telco Customer Churn (7,043 rows), read unmodified from ``../shared/data/telco_churn.csv``."""
    if not TELCO.is_file():
        pytest.fail(f"shared data missing: expected {TELCO} (the shared/ folder beside the checkout); "
                    "see ../shared/data/README.md")
    return pd.read_csv(TELCO)
