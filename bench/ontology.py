"""Benchmark: loading the full ORDO, cold (fresh cache) and warm (from that cache).

    .venv/bin/python bench/ontology.py [--ordo ../shared/ordo/ORDO_en_4.2.owl.gz] [--repeat 3]

Each load runs in a fresh Python process, so nothing is warm in memory; times are wall-clock seconds
from process start to a ready :class:`OrdoIndex` (imports included). Prints one JSON object; later
benchmarks (linking throughput) add keys to it.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ORDO = REPO.parent / "shared" / "ordo" / "ORDO_en_4.2.owl.gz"


def _child(ordo: Path, cache: Path) -> None:
    """Run in the subprocess: load once and report."""
    started = time.perf_counter()
    from mmrare.ontology.store import load_ordo

    index = load_ordo(ordo, cache)
    elapsed = time.perf_counter() - started
    concepts = list(index.concepts())
    print(
        json.dumps(
            {
                "load_s": elapsed,
                "n_concepts": len(concepts),
                "n_synonyms": sum(len(c.synonyms) for c in concepts),
                "n_xrefs": sum(len(c.xrefs) for c in concepts),
                "ordo_version": index.release.version,
                "ordo_sha256": index.release.sha256,
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def _run(ordo: Path, cache: Path) -> dict[str, Any]:
    # process start is counted too: the child measures from its first line, the parent adds spawn time
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", "--ordo", str(ordo), "--cache", str(cache)],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = wall
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ordo", type=Path, default=DEFAULT_ORDO)
    parser.add_argument("--repeat", type=int, default=1, help="cold/warm pairs; the best of each is kept")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.ordo, args.cache)
        return

    colds: list[dict[str, Any]] = []
    warms: list[dict[str, Any]] = []
    for _ in range(max(args.repeat, 1)):
        with tempfile.TemporaryDirectory(prefix="mmrare-bench-ordo-") as tmp:
            cache = Path(tmp) / "cache"
            colds.append(_run(args.ordo, cache))
            warms.append(_run(args.ordo, cache))
    cold = min(colds, key=lambda r: r["load_s"])
    warm = min(warms, key=lambda r: r["load_s"])
    out = {
        "cold_load_s": round(cold["load_s"], 3),
        "warm_load_s": round(warm["load_s"], 3),
        "cold_process_s": round(cold["process_s"], 3),
        "warm_process_s": round(warm["process_s"], 3),
        "n_concepts": cold["n_concepts"],
        "n_synonyms": cold["n_synonyms"],
        "n_xrefs": cold["n_xrefs"],
        "ordo_version": cold["ordo_version"],
        "ordo_sha256": cold["ordo_sha256"],
        "peak_rss_mb": round(max(r["rss_mb"] for r in colds + warms), 1),
        "warm_rss_mb": round(max(r["rss_mb"] for r in warms), 1),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
