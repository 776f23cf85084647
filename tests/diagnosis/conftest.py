"""Fixtures of the diagnosis tests: the two shared churn datasets, resolved relative to the repository root."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"


def _shared(name: str) -> Path:
    path = DATA / name
    if not path.is_file():
        pytest.fail(f"shared data missing: expected {path} (the shared/ folder beside the checkout); "
                    "see ../shared/data/README.md")
    return path


@pytest.fixture(scope="session")
def churn2020() -> Path:
    """"Customer Churn Prediction 2020" training set (4,250 rows), ``../shared/data/churn2020_train.csv``."""
    return _shared("churn2020_train.csv")


@pytest.fixture(scope="session")
def telco() -> Path:
    """IBM Telco Customer Churn (7,043 rows), ``../shared/data/telco_churn.csv``."""
    return _shared("telco_churn.csv")


@pytest.fixture(scope="session")
def churn2020_profile(churn2020):
    from experiments.diagnosis import profile

    return profile(churn2020, "churn")


@pytest.fixture(scope="session")
def telco_profile(telco):
    from experiments.diagnosis import profile

    return profile(telco, "Churn", revenue="MonthlyCharges")
