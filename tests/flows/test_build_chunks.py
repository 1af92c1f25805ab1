"""A build cut into one-case chunks stores the same decisions and flags as one whole-corpus chunk:
leakage control's chunks are checked against every item decided before them, so near-duplicate
contexts, duplicate images and same-case pairs are found across chunks as within one."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from mmrare.config import load_config
from mmrare.memo import clear_chunk_memos

pytestmark = pytest.mark.slow

ORIGINAL = "PMC7500000"
REPUBLISHED = "PMC7500001"  # the same case published again: same text, same figures


def _sources(shared_dir: Path, root: Path) -> Path:
    """The sample's case report, a second copy of it under another PMCID, and another rare case."""
    packages = shared_dir / "pmc" / "packages"
    for pmcid in (ORIGINAL, "PMC6358579"):
        shutil.copytree(packages / pmcid, root / pmcid)
    copy = root / REPUBLISHED
    shutil.copytree(packages / ORIGINAL, copy)
    xml = (copy / f"{ORIGINAL}.xml").read_text(encoding="utf-8")
    (copy / f"{ORIGINAL}.xml").unlink()
    (copy / f"{REPUBLISHED}.xml").write_text(
        xml.replace(ORIGINAL, REPUBLISHED).replace(">7500000<", ">7500001<"), encoding="utf-8"
    )
    return root


def _decisions(config: Path) -> tuple[set[tuple], set[tuple], set[tuple]]:
    """(leakage decisions, flagged dataset flags, every dataset flag's item and kind) of a build."""
    con = duckdb.connect(str(load_config(config).warehouse_path), read_only=True)
    try:
        decided = set(con.execute("SELECT item_id, basis, masked_context FROM leakage_contexts").fetchall())
        flagged = set(
            con.execute(
                "SELECT f.item_id, q.pmcid, f.flag, o.pmcid, f.ref FROM dataset_flags f"
                " JOIN qa_items q USING (item_id) LEFT JOIN qa_items o ON o.item_id = f.other_item_id"
                " WHERE f.flagged"
            ).fetchall()
        )
        kinds = set(con.execute("SELECT DISTINCT item_id, flag FROM dataset_flags").fetchall())
    finally:
        con.close()
    return decided, flagged, kinds


def test_one_case_chunks_store_what_one_whole_chunk_stores(
    prefect_harness, write_config, shared_dir: Path, tmp_path: Path
) -> None:
    from mmrare.flows.build import run_build_flow

    sources = _sources(shared_dir, tmp_path / "sources")
    results = {}
    for chunk in (1, 500):
        config = write_config(
            tmp_path / f"chunk{chunk}.toml",
            tmp_path / f"ws{chunk}",
            [sources],
            f"[build]\nchunk_cases = {chunk}\n",
        )
        summary = run_build_flow(str(config), workers=2, show_progress=False)
        assert summary["cases"] == 3
        # every chunk empties the text memos it filled: what they hold follows the chunk, not the corpus
        assert clear_chunk_memos() == 0
        results[chunk] = _decisions(config)
    small, whole = results[1], results[500]
    assert small[0] == whole[0] and small[0]  # every item decided the same way, context masked alike
    assert small[1] == whole[1]
    # unflagged rows differ only where they may: an item's nearest context of another case is stored
    # whatever its cosine, and is the nearest among the items decided up to its own chunk
    assert {row for row in whole[2] ^ small[2]} <= {(i, "near_duplicate_context") for i, _ in whole[2]}
    flags = {(pmcid, flag, other) for _, pmcid, flag, other, _ in whole[1]}
    # the copy was decided in a chunk after the original's: found across chunks all the same
    assert (REPUBLISHED, "near_duplicate_context", ORIGINAL) in flags
    assert (ORIGINAL, "near_duplicate_context", REPUBLISHED) in flags
    assert (REPUBLISHED, "duplicate_image", ORIGINAL) in flags
    assert any(flag == "same_case_track" for _, flag, _ in flags)
