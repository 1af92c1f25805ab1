"""Fixtures for the linking tests: the hand-built slice and its linker (unit tests), the full ORDO
and its linker (slow tests), built once per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.linking import Linker, Mention, link_document
from mmrare.ontology.store import load_ordo

from .linking_slice import slice_index

FULL_ORDO = Path(__file__).resolve().parents[4] / "shared" / "ordo" / "ORDO_en_4.2.owl.gz"


@pytest.fixture(scope="session")
def link_index() -> OrdoIndex:
    return slice_index()


@pytest.fixture(scope="session")
def linker(link_index: OrdoIndex) -> Linker:
    return Linker.build(link_index)


@pytest.fixture(scope="session")
def link(linker: Linker) -> Callable[..., list[Mention]]:
    """Link sentences given as plain strings ("s0", "s1", ... in role ``case_presentation``), or as
    ``(role, text)`` pairs."""

    def run(*sentences: str | tuple[str, str], title: str | None = None) -> list[Mention]:
        rows = []
        for i, sentence in enumerate(sentences):
            role, text = sentence if isinstance(sentence, tuple) else ("case_presentation", sentence)
            rows.append((f"s{i}", role, text))
        return link_document(linker, rows, title)

    return run


@pytest.fixture(scope="session")
def full_index(tmp_path_factory: pytest.TempPathFactory) -> OrdoIndex:
    if not FULL_ORDO.is_file():
        pytest.fail(f"{FULL_ORDO} is missing: the slow linking tests need the full ORDO under ../shared")
    return load_ordo(FULL_ORDO, tmp_path_factory.mktemp("ordo-cache"))


@pytest.fixture(scope="session")
def full_linker(full_index: OrdoIndex, tmp_path_factory: pytest.TempPathFactory) -> Linker:
    return Linker.build(full_index, tmp_path_factory.mktemp("linker-cache"))
