"""Fixtures for the experiments tests."""

from __future__ import annotations

import pytest
from experiment_factories import make_design, make_frame


@pytest.fixture
def design():
    return make_design()


@pytest.fixture
def frame():
    return make_frame()
