"""Loading shards between stages counts as Python work beside the encoder."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from mmrare.embedding.cpushare import python_busy
from mmrare.flows import loading


def test_load_stage_marks_python_work_while_duckdb_inserts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []

    def load_shards(con, shard_root, tables):
        seen.append(python_busy())  # the encoder would run one torch thread now
        return {"articles": 3, "sections": 0}

    monkeypatch.setattr(loading, "load_shards", load_shards)
    con = duckdb.connect()
    assert not python_busy()
    assert loading.load_stage(con, tmp_path) == {"articles": 3, "sections": 0}
    assert seen == [True] and not python_busy()
