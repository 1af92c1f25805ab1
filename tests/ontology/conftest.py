"""Fixtures for the ontology tests only: the tiny ORDO slice, written into tmp_path by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.store import load_ordo

from .ordo_slice import write_slice


@pytest.fixture
def slice_path(tmp_path: Path) -> Path:
    return write_slice(tmp_path / "ordo")


@pytest.fixture
def slice_index(slice_path: Path, tmp_path: Path) -> OrdoIndex:
    return load_ordo(slice_path, tmp_path / "cache")
