"""Shared by the synth tests: where the full ORDO is, the session corpus's seed and size, and a
reader over a generated corpus."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmrare.synth import CorpusSummary

FULL_ORDO = Path(__file__).resolve().parents[3] / "shared" / "ordo" / "ORDO_en_4.2.owl.gz"
SEED = 7
N_CASES = 16  # enough for the worker-pool path (16 pending cases or more)


@dataclass(frozen=True)
class Corpus:
    root: Path
    summary: CorpusSummary

    def cases(self) -> Iterator[tuple[Path, dict[str, Any]]]:
        """(package folder, ground truth) in manifest order."""
        for line in (self.root / "manifest.tsv").read_text(encoding="utf-8").splitlines()[1:]:
            folder = self.root / line.split("\t", 1)[0]
            yield folder, json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))
