"""Names that make a synthetic package recognisable: its PMCID range, marker and file names.

Synthetic PMCIDs are ``PMC9`` + 8 digits: ``PMC9`` + two digits of the seed (``seed % 100``) + a
six-digit, 1-based case index, always with version 1 ("PMC901000042.1" is case 42 of seed 1).
Real PMCIDs are below PMC13000000 (8 digits) in 2025, so a 9-digit number starting with 9 cannot
collide with a real article for a long time, and a glance at the id tells a synthetic case apart.
Two seeds equal modulo 100 give the same ids: keep their corpora in different builds.
"""

from __future__ import annotations

GENERATOR_VERSION = "mmrare-synth/1"
GROUND_TRUTH_SCHEMA = "mmrare-synth-ground-truth/1"

# Must equal mmrare.curation.synthetic.SYNTHETIC_META_NAME / SYNTHETIC_FILE (a test checks it);
# not imported from there because a tool never depends on a pipeline stage's internals.
SYNTHETIC_META_NAME = "mmrare-synthetic"
SYNTHETIC_FILE = "synthetic.json"
GROUND_TRUTH_FILE = "ground_truth.json"
MANIFEST_FILE = "manifest.tsv"
CORPUS_FILE = "corpus.json"

MAX_CASES = 999_999
PMC_VERSION = 1


def synthetic_pmcid(seed: int, index: int) -> str:
    """``PMC9SSIIIIII`` for case ``index`` (1-based) of ``seed``."""
    if not 1 <= index <= MAX_CASES:
        raise ValueError(f"case index {index} outside 1..{MAX_CASES}")
    if seed < 0:
        raise ValueError("seed must be >= 0")
    return f"PMC9{seed % 100:02d}{index:06d}"


def is_synthetic_pmcid(pmcid: str) -> bool:
    """Whether a PMCID lies in the synthetic range (9 digits starting with 9)."""
    digits = pmcid.removeprefix("PMC").split(".", 1)[0]
    return len(digits) == 9 and digits.isdigit() and digits.startswith("9")
