"""Tests that need a real service (Kafka, Docker) and cannot have it: they skip on a
developer machine and fail under CI=true, where `make test` must have provided it."""

from __future__ import annotations

import os

import pytest


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def unavailable(what: str) -> None:
    """Fail under CI, skip elsewhere."""
    if under_ci():
        pytest.fail(f"{what} (CI=true: tests that need it fail instead of skipping)", pytrace=False)
    pytest.skip(what)
