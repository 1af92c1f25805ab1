"""Benchmark: loading the full ORDO, cold (fresh cache) and warm (from that cache).

    .venv/bin/python bench/ontology.py [--ordo ../shared/ordo/ORDO_en_4.2.owl.gz] [--repeat 3]

Each load runs in a fresh Python process, so nothing is warm in memory; times are wall-clock seconds
from process start to a ready :class:`OrdoIndex` (imports included). Then ``bench/linking.py`` runs
(lexical linking throughput in words/s on one core over every shared article) and its JSON is added
under ``"linking"``. Prints one JSON object. Targets: cold <= 10 s, warm <= 1 s, linking >= 100k words/s.
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
    parser.add_argument("--no-linking", action="store_true", help="skip the linking throughput run")
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
    if not args.no_linking:
        out["linking"] = _linking(args.ordo)
        words_per_s = out["linking"]["link_document_words_per_s"]
    else:
        words_per_s = None
    out["targets_met"] = {
        "cold_le_10s": out["cold_load_s"] <= 10,
        "warm_le_1s": out["warm_load_s"] <= 1,
        "linking_ge_100k_words_per_s": None if words_per_s is None else words_per_s >= 100_000,
    }
    print(json.dumps(out, indent=2))


def _linking(ordo: Path) -> dict[str, Any]:
    """bench/linking.py in its own process (one core: it links in a single thread)."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("linking.py")), "--ordo", str(ordo)],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"linking benchmark failed:\n{done.stderr}")
    return json.loads(done.stdout)


if __name__ == "__main__":
    main()
