"""Same rows guard: do users get exactly the rows and release files they got before a change?

It runs the real ``mmrare build`` (a subprocess, as users run it) into fresh temporary workspaces:

- ``sample``: the shared sample with the project's ``mmrare.toml`` (what ``make run`` builds), then
  two agreeing accept reviews of every queued item and ``mmrare release build --version 1.0.0``;
- ``synth``: ``mmrare synth --n 200 --seed 1`` built with ``selection.allow_synthetic`` on.

Each content table of ``warehouse.duckdb`` gets an order-independent hash of its rows, leaving out
the columns two builds of the same code fill differently (``EXCLUDED_COLUMNS``); each release file
gets its sha256, after :func:`normalise_release_file` removes what two builds may write differently.
Run it with the Python whose ``mmrare`` you want to check (``PYTHONPATH=src`` in a worktree)::

    python bench/same_rows.py --write bench/same_rows_baseline.json   # store a baseline
    python bench/same_rows.py --compare bench/same_rows_baseline.json # exit 1 on any difference

Compare with the cache the baseline was made with (``--cache``, kept between runs). Its keys hold
every input that matters (model, text, ORDO file), and it also pins the sentence vectors: the encoder
batches texts as they arrive, and a text's vector moves in the last digits with its batch, so two
cold builds can differ in a few semantic scores (by 1e-6), in a closest descriptor tied on them and
in which near-duplicate a flag names.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "mmrare.toml"
RELEASE_VERSION = "1.0.0"
REVIEWERS = ("guard-a", "guard-b")
REVIEWED_AT = datetime(2026, 1, 1, tzinfo=UTC)  # fixed, so review rows are the same in every run

# Tables that record a run, not its content.
SKIPPED_TABLES: dict[str, str] = {
    "runs": "one row per build: run id, start/finish times, perf counters",
    "schema_version": "migration bookkeeping: applied_at is the build's clock",
}
# Columns two builds of the same code fill differently ("*" = any table).
EXCLUDED_COLUMNS: dict[str, str] = {
    "*.run_id": "id of the build that wrote the row (a new uuid per build)",
    "*.created_at": "wall-clock time the row was written",
    "*.processed_at": "wall-clock time a package was curated",
    "*.code_version": "package version + git commit: differs between any two commits by design",
}
# Release files whose bytes follow the commit (see normalise_release_file).
COMMIT_BOUND = ("README.md", "croissant.json")
# Tables whose rows follow the exact sentence vectors (see the module docstring).
VECTOR_TABLES = {"leakage_scores", "leakage_decisions", "dataset_flags"}
# Paths of source files are hashed relative to the source folder ("$SOURCES/..."): the synthetic
# corpus lives in a new temporary folder each run, and the sample may be elsewhere on another machine.


def mmrare(*args: str, env: dict[str, str]) -> None:
    """Run the ``mmrare`` command of this interpreter's package; fail loudly with its output."""
    cmd = [sys.executable, "-c", "from mmrare.cli import main; main()", *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"mmrare {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def build(workspace: Path, cache: Path, extra_env: dict[str, str]) -> dict[str, str]:
    """Build into a fresh ``workspace`` sharing ``cache``; returns the environment used."""
    env = {**os.environ, **extra_env, "MMRARE_WORKSPACE": str(workspace), "MMRARE_CACHE": str(cache)}
    mmrare("build", "--config", str(CONFIG), "--no-progress", env=env)
    return env


def excluded(table: str, column: str) -> bool:
    return f"{table}.{column}" in EXCLUDED_COLUMNS or f"*.{column}" in EXCLUDED_COLUMNS


def table_hashes(warehouse: Path, sources: Path) -> dict[str, dict[str, int | str]]:
    """Per content table: row count and sha256 over the sorted row hashes (so order never matters)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY table_name"
        ).fetchall()]  # fmt: skip
        out: dict[str, dict[str, int | str]] = {}
        for table in (t for t in tables if t not in SKIPPED_TABLES):
            columns = sorted(r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
            ).fetchall() if not excluded(table, r[0]))  # fmt: skip
            # struct_pack names every column, so a renamed or moved value changes the hash
            row = "struct_pack(" + ", ".join(f'"{c}" := "{c}"' for c in columns) + ")"
            rows = f"SELECT sha256(replace(CAST({row} AS VARCHAR), ?, '$SOURCES')) AS h FROM \"{table}\""
            count, digest = con.execute(
                f"SELECT count(*), sha256(coalesce(string_agg(h, '' ORDER BY h), '')) FROM ({rows})",
                [str(sources)],
            ).fetchone() or (0, "")
            out[table] = {"rows": int(count), "sha256": str(digest)}
        return out
    finally:
        con.close()


def review_all(warehouse: Path) -> int:
    """Two agreeing accept reviews of every queued item, written in one transaction.

    The same rows ``submit_review`` writes (version 0 of the item, one review per annotator), without
    its per-submission queue checks, which read the whole queue each time: fine for an annotator,
    quadratic for a bench reviewing thousands of items at once."""
    from mmrare.annotations.review.annotators import add_annotator
    from mmrare.annotations.review.queue import candidates, enqueue
    from mmrare.annotations.review.records import Review
    from mmrare.annotations.review.store import ReviewStore
    from mmrare.annotations.review.versions import ensure_version0
    from mmrare.warehouse.db import connect
    from mmrare.warehouse.queries import review as queries

    store = ReviewStore(connect(warehouse))
    try:
        for name in REVIEWERS:
            add_annotator(store, name)
        enqueue(store, 2)
        items = sorted(item for item, _, _ in candidates(store, REVIEWERS[0]))
        with store.write() as cur:
            for item in items:
                ensure_version0(cur, item, REVIEWED_AT)
                for name in REVIEWERS:
                    queries.insert_review(
                        cur, Review(item, name, "accept", 0, 0, None, "", REVIEWED_AT).row()
                    )
        return len(items)
    finally:
        store.close()


def normalise_release_file(rel: str, data: bytes, code_version: str, raw: dict[str, str]) -> bytes:
    """What two builds of one release may write differently, removed; every other file as is.

    The git commit (``code_version``) is in the datasheet, so README.md's sha256 changes with every
    commit, and with it croissant.json (which lists it) and both their sha256 in manifest.json;
    ``raw`` holds those two sha256 as written.
    """
    if rel == "README.md":
        return data.replace(code_version.encode(), b"$CODE_VERSION")
    for name, digest in raw.items():
        data = data.replace(digest.encode(), f"$SHA256({name})".encode())
    if rel == "manifest.json":
        doc = json.loads(data)
        doc.pop("created_at")  # the build's clock: the one field the release format lets vary
        doc.pop("code_version")
        return json.dumps(doc, sort_keys=True).encode()
    return data


def release_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file of a release directory, normalised (see :func:`normalise_release_file`)."""
    code_version = json.loads((root / "manifest.json").read_text(encoding="utf-8"))["code_version"]
    raw = {name: hashlib.sha256((root / name).read_bytes()).hexdigest() for name in COMMIT_BOUND}
    out: dict[str, str] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        data = normalise_release_file(rel, path.read_bytes(), code_version, raw)
        out[rel] = hashlib.sha256(data).hexdigest()
    return out


def run_sample(tmp: Path, cache: Path) -> dict[str, Any]:
    env = build(tmp / "sample", cache, {})
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    sample = (CONFIG.parent / config["sources"]["local_dirs"][0]).resolve()
    tables = table_hashes(tmp / "sample" / "warehouse.duckdb", sample)  # before reviews add rows
    reviewed = review_all(tmp / "sample" / "warehouse.duckdb")
    mmrare("release", "build", "--version", RELEASE_VERSION, "--config", str(CONFIG), env=env)
    files = release_hashes(tmp / "sample" / "releases" / RELEASE_VERSION)
    return {"tables": tables, "reviewed_items": reviewed, "release": files}


def run_synth(tmp: Path, cache: Path) -> dict[str, Any]:
    corpus = tmp / "synth-corpus"
    env = {**os.environ, "MMRARE_CACHE": str(cache)}
    mmrare("synth", "--n", "200", "--seed", "1", "--out", str(corpus), "--no-progress",
           "--config", str(CONFIG), env=env)  # fmt: skip
    synthetic = {"MMRARE_SOURCES__LOCAL_DIRS": json.dumps([str(corpus)]),
                 "MMRARE_SELECTION__ALLOW_SYNTHETIC": "true"}  # fmt: skip
    build(tmp / "synth", cache, synthetic)
    return {"tables": table_hashes(tmp / "synth" / "warehouse.duckdb", corpus)}


def describe(entry: dict[str, Any] | str | None) -> str:
    if entry is None:
        return "missing"
    if isinstance(entry, dict):
        return f"{entry['rows']} rows {entry['sha256'][:12]}"
    return entry[:12]


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """One line per table or file whose rows or bytes differ."""
    lines: list[str] = []
    for part in sorted(set(old) | set(new)):
        a, b = old.get(part, {}), new.get(part, {})
        for kind in ("tables", "release"):
            x, y = a.get(kind, {}), b.get(kind, {})
            for name in sorted(set(x) | set(y)):
                if x.get(name) != y.get(name):
                    was, now = (describe(v) for v in (x.get(name), y.get(name)))
                    lines.append(f"{part} {kind} {name}: {was} -> {now}")
        if a.get("reviewed_items") != b.get("reviewed_items"):
            lines.append(f"{part}: reviewed items {a.get('reviewed_items')} -> {b.get('reviewed_items')}")
    return lines


def report(result: dict[str, Any]) -> None:
    for part, data in result.items():
        for table, info in data["tables"].items():
            print(f"{part:7} {table:26} {info['rows']:>7} {info['sha256'][:16]}")
        if "release" in data:
            print(f"{part:7} release: {len(data['release'])} files, {data['reviewed_items']} reviewed items")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--write", type=Path, help="store the hashes as JSON in this file")
    parser.add_argument("--compare", type=Path, help="compare with a stored JSON; exit 1 on any difference")
    parser.add_argument("--only", choices=("sample", "synth"), help="run one part only")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "mmrare-same-rows-cache",
                        help="content-keyed cache shared between runs (default: %(default)s)")  # fmt: skip
    parser.add_argument("--keep", type=Path, help="build here (must not exist) and keep the workspaces")
    args = parser.parse_args()
    parts = {"sample": run_sample, "synth": run_synth}
    started = time.monotonic()
    if args.keep:
        args.keep.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="same-rows-") as scratch:
        tmp = (args.keep or Path(scratch)).resolve()
        result = {
            name: run(tmp, args.cache.resolve()) for name, run in parts.items() if args.only in (None, name)
        }
    print(f"built and hashed {', '.join(result)} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    if not args.compare:
        report(result)
    if args.write:
        args.write.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if args.compare:
        stored = json.loads(args.compare.read_text(encoding="utf-8"))
        lines = differences({k: v for k, v in stored.items() if k in result}, result)
        for line in lines:
            print(line)
        if lines:
            changed = {line.split()[2].rstrip(":") for line in lines}
            if changed <= VECTOR_TABLES:
                print(f"(only tables of sentence vectors differ: was {args.cache} the baseline's cache?)")
            sys.exit(1)
        print("same rows")


if __name__ == "__main__":
    main()
