"""Shared test locations. Test data is the real sample under ../shared, used in place."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.exists():
        pytest.fail(f"{SHARED} is missing: tests need ../shared beside the project root")
    return SHARED


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's MMRARE_* overrides; monkeypatch puts them back afterwards.

    Builds run with the production defaults (the encoder in its own process, threads)."""
    import os

    for key in list(os.environ):
        if key.startswith("MMRARE_"):
            monkeypatch.delenv(key, raising=False)
