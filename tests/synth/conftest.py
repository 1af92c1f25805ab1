"""Fixtures for the synthetic-corpus tests: the full ORDO (cached per session, ~4 s cold) and one
small corpus written once per session and read by most tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.store import load_ordo
from mmrare.synth import SynthOptions, generate_corpus

from .synth_support import FULL_ORDO, N_CASES, SEED, Corpus


@pytest.fixture(scope="session")
def synth_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace whose ORDO cache the session's ORDO load fills (the CLI test reuses it warm)."""
    return tmp_path_factory.mktemp("synth-workspace")


@pytest.fixture(scope="session")
def synth_ordo(synth_workspace: Path) -> OrdoIndex:
    if not FULL_ORDO.is_file():
        pytest.fail(f"{FULL_ORDO} is missing: the synth tests need the full ORDO under ../shared")
    return load_ordo(FULL_ORDO, synth_workspace / "cache" / "ordo")


@pytest.fixture(scope="session")
def corpus(synth_ordo: OrdoIndex, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    root = tmp_path_factory.mktemp("synth") / "corpus"
    summary = generate_corpus(synth_ordo, SynthOptions(n=N_CASES, out=root, seed=SEED, workers=1))
    return Corpus(root, summary)
