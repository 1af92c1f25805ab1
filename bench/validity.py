"""Validity targets of a release: shortcut baselines, answer positions, cross-image distractors.

    PYTHONPATH=src .venv/bin/python bench/validity.py --n 100 [--seed 1] [--work DIR] [--only synth|sample]

Two parts, each built with the real ``mmrare build`` (a subprocess, as users run it); then, on a copy
of the warehouse, every kept item gets two agreeing accept reviews and :func:`build_release` writes a
release that ``verify_release`` checks (``mmrare release build`` refuses a workspace that admits
synthetic packages; the release here is a measurement, never published):

- ``synth``: ``mmrare synth --n N --seed S`` (ground truth known);
- ``sample``: the shared sample with the project's ``mmrare.toml``.

Printed per part and track, from the release's validity.json: items, chance, the option-only
baselines (longest option, most central option), the text-only blind solver, the image-blind share
and the largest answer-position gap; and, from ``qa_distractors`` of the released cross-image
``finding_for_image`` items, the share of distractors from the same case or from a figure of the same
modality and region. On synth, a second share judges the same distractors by the generator's own
figure kinds (``ground_truth.json``: "ct_abdomen", ...) instead of the drafter's profile. For the
released examination and treatment items, the share of distractors that fit the clinical picture: the
workup or therapy of a related disease (a differential diagnosis or an ORDO sibling of the case's),
close to the case in embedding space ("similar"), or chosen by body-system fit alone, and how often
the answer is the option least like the context (the text-only solver's vectors, reversed). The targets
(option-only <= chance + 5 points per track, least-like-context <= chance + 5 points for examination
and treatment, cross-image share >= 90 %, every position within 5 points
of uniform in a track of 100+ items, else answers per letter within one of each other, validity.json
verified) are checked and listed as ``targets``; the last line is one JSON
object with everything.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from same_rows import CONFIG, mmrare, review_all

SAME_ORIGIN = ("same_case", "same_modality_region")
MARGIN = 0.05
SHARE_TARGET = 0.90
POSITION_MIN_ITEMS = 100  # the 5-point position target is for tracks of at least this many items
VERSION = "0.0.1"


def build(workspace: Path, cache: Path, extra_env: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, **extra_env, "MMRARE_WORKSPACE": str(workspace), "MMRARE_CACHE": str(cache)}
    mmrare("build", "--config", str(CONFIG), "--no-progress", env=env)
    return env


def release_from_copy(workspace: Path, env: dict[str, str]) -> Path:
    """Review every item of a copy of the warehouse and release it with :func:`build_release`."""
    from mmrare.config import load_config
    from mmrare.leakage import DEFAULT_POLICY
    from mmrare.warehouse.db import connect
    from mmrare.warehouse.release import LicencePolicy, ReleaseSettings, build_release

    copy = workspace / "bench-release"
    shutil.rmtree(copy, ignore_errors=True)
    copy.mkdir()
    shutil.copy(workspace / "warehouse.duckdb", copy / "warehouse.duckdb")
    review_all(copy / "warehouse.duckdb")
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("MMRARE_")})
    try:
        cfg = load_config(CONFIG)  # with the part's settings, as its build read them
    finally:
        os.environ.clear()
        os.environ.update(saved)
    con = connect(copy / "warehouse.duckdb")
    try:
        settings = ReleaseSettings(policy=LicencePolicy.from_selection(cfg.selection))
        result = build_release(con, VERSION, copy / "releases", settings, config_hash=cfg.config_hash,
                               semantic_thresholds=cfg.thresholds.semantic,
                               policy_thresholds=DEFAULT_POLICY.thresholds())  # fmt: skip
    finally:
        con.close()
    return result.root


def cross_image_origins(warehouse: Path, release: Path, truth: dict[str, str] | None) -> dict[str, Any]:
    """Where the released finding_for_image items' distractors come from."""
    ids = [
        json.loads(line)["item_id"]
        for line in (release / "jsonl" / "cross_image.jsonl").read_text().splitlines()
        if line.strip() and json.loads(line)["question_type"] == "finding_for_image"
    ] if (release / "jsonl" / "cross_image.jsonl").exists() else []  # fmt: skip
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "SELECT d.item_id, d.reason, d.source, e.ref_id FROM qa_distractors d"
            " JOIN qa_evidence e ON e.item_id = d.item_id AND e.kind = 'figure'"
            " WHERE list_contains(?, d.item_id)",
            [ids],
        ).fetchall()
    finally:
        con.close()
    reasons = Counter(r[1] for r in rows)
    out: dict[str, Any] = {"items": len(ids), "distractors": len(rows), "reasons": dict(reasons)}
    out["same_case_or_modality_region"] = (
        round(sum(reasons[r] for r in SAME_ORIGIN) / len(rows), 4) if rows else None
    )
    if truth is not None and rows:
        alike = sum(
            1 for _, reason, source, target in rows
            if reason == "same_case" or (truth.get(source) and truth.get(source) == truth.get(target))
        )  # fmt: skip
        out["by_generator_kind"] = round(alike / len(rows), 4)
    return out


PICTURE_TRACKS = ("examination", "treatment")


def picture_origins(warehouse: Path, release: Path) -> dict[str, Any]:
    """Per track, where the released examination and treatment items' distractors come from."""
    out: dict[str, Any] = {}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        for track in PICTURE_TRACKS:
            path = release / "jsonl" / f"{track}.jsonl"
            ids = [json.loads(line)["item_id"] for line in path.read_text().splitlines() if line.strip()] \
                if path.exists() else []  # fmt: skip
            reasons = [r[0] for r in con.execute(
                "SELECT reason FROM qa_distractors WHERE list_contains(?, item_id)", [ids]
            ).fetchall()]  # fmt: skip
            kinds = Counter(r.partition(":")[0] for r in reasons)
            scores = [float(r.partition(":")[2]) for r in reasons if r.startswith("similar:")]
            n = len(reasons)
            related = kinds["differential"] + kinds["ordo_sibling"]
            # the inverse of the text-only solver: distractors chosen for being close to the case must
            # not leave the answer as the option least like the context
            cosines = [json.loads(r[0]) for r in con.execute(
                "SELECT detail FROM dataset_flags"
                " WHERE flag = 'text_answerable' AND list_contains(?, item_id)",
                [ids],
            ).fetchall()]  # fmt: skip
            least = [min(range(len(d["cosines"])), key=lambda i, d=d: d["cosines"][i]) == d["answer_index"]
                     for d in cosines]  # fmt: skip

            def share(count: int, n: int = n) -> float | None:
                return round(count / n, 4) if n else None

            out[track] = {
                "items": len(ids), "distractors": n, "reasons": dict(kinds), "related": share(related),
                "similar": share(kinds["similar"]), "fits_picture": share(related + kinds["similar"]),
                "mean_similarity": round(sum(scores) / len(scores), 3) if scores else None,
                "least_like_context": round(sum(least) / len(least), 4) if least else None,
            }  # fmt: skip
    finally:
        con.close()
    return out


def generator_kinds(corpus: Path) -> dict[str, str]:
    """figure id -> the generator's figure kind ("ct_abdomen"), from every ground_truth.json."""
    out = {}
    for path in corpus.glob("*/ground_truth.json"):
        for fig in json.loads(path.read_text())["figures"]:
            out[fig["figure_id"]] = fig["kind"]
    return out


def summarise(name: str, release: Path, origins: dict[str, Any], picture: dict[str, Any]) -> dict[str, Any]:
    from mmrare.warehouse.release import verify_release

    report = verify_release(release)
    validity = json.loads((release / "validity.json").read_text())
    tracks = {}
    targets = []
    for track, v in validity["tracks"].items():
        oo = {k: v["option_only"][k]["accuracy"] for k in ("longest", "central")}
        tracks[track] = {"items": v["items"], "cases": v["cases"], "chance": v["chance"], **oo,
                         "text_only": v["text_only"]["accuracy"], "image_blind": v["image_blind"]["share"],
                         "position_gap": v["answer_positions"]["max_gap"]}  # fmt: skip
        worst = max(oo.values())
        targets.append((f"{name} {track}: option-only {worst} <= chance {v['chance']} + {MARGIN}",
                        worst <= v["chance"] + MARGIN))  # fmt: skip
        positions = v["answer_positions"]
        if v["items"] >= POSITION_MIN_ITEMS:
            targets.append((f"{name} {track}: position gap {positions['max_gap']} <= {MARGIN}",
                            positions["within_tolerance"]))  # fmt: skip
        else:  # a few items cannot be within 5 points; they can differ by one item per letter at most
            width = min(len(positions["counts"]), 4)
            counts = list(positions["counts"].values())[:width]
            targets.append((f"{name} {track}: {v['items']} items, answers per letter {counts} differ by <= 1",
                            max(counts) - min(counts) <= 1))  # fmt: skip
    for track, p in picture.items():
        if p["least_like_context"] is not None:
            chance = validity["tracks"][track]["chance"]
            least = p["least_like_context"]
            targets.append((f"{name} {track}: least-like-context {least} <= chance {chance} + {MARGIN}",
                            least <= chance + MARGIN))  # fmt: skip
    share = origins.get("same_case_or_modality_region")
    targets.append((f"{name} cross_image: same case or modality+region {share} >= {SHARE_TARGET}",
                    share is not None and share >= SHARE_TARGET))  # fmt: skip
    targets.append((f"{name}: validity.json verified ({len(report.errors)} errors)", report.ok))
    return {"tracks": tracks, "cross_image": origins, "picture": picture, "verify_errors": report.errors[:5],
            "targets": [{"target": t, "met": ok} for t, ok in targets]}  # fmt: skip


def run_synth(work: Path, cache: Path, n: int, seed: int) -> dict[str, Any]:
    corpus = work / f"synth-{n}-{seed}"
    if not corpus.exists():
        mmrare("synth", "--n", str(n), "--seed", str(seed), "--out", str(corpus), "--no-progress",
               "--config", str(CONFIG), env={**os.environ, "MMRARE_CACHE": str(cache)})  # fmt: skip
    workspace = work / f"ws-synth-{n}-{seed}"
    env = build(workspace, cache, {"MMRARE_SOURCES__LOCAL_DIRS": json.dumps([str(corpus)]),
                                   "MMRARE_SELECTION__ALLOW_SYNTHETIC": "true"})  # fmt: skip
    release = release_from_copy(workspace, env)
    origins = cross_image_origins(
        release.parent.parent / "warehouse.duckdb", release, generator_kinds(corpus)
    )
    picture = picture_origins(release.parent.parent / "warehouse.duckdb", release)
    return summarise(f"synth n={n}", release, origins, picture)


def run_sample(work: Path, cache: Path) -> dict[str, Any]:
    workspace = work / "ws-sample"
    env = build(workspace, cache, {})
    release = release_from_copy(workspace, env)
    origins = cross_image_origins(release.parent.parent / "warehouse.duckdb", release, None)
    picture = picture_origins(release.parent.parent / "warehouse.duckdb", release)
    return summarise("sample", release, origins, picture)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100, help="synthetic cases (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/mmrare-bench-validity"),
                        help="workspaces and corpora, kept between runs (default: %(default)s)")  # fmt: skip
    parser.add_argument("--only", choices=("synth", "sample"))
    args = parser.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    cache = work / "cache"
    started = time.monotonic()
    result: dict[str, Any] = {}
    if args.only in (None, "synth"):
        result["synth"] = run_synth(work, cache, args.n, args.seed)
    if args.only in (None, "sample"):
        result["sample"] = run_sample(work, cache)
    result["seconds"] = round(time.monotonic() - started)
    for part, data in result.items():
        if not isinstance(data, dict):
            continue
        print(f"{part}: track items cases chance longest central text_only image_blind position_gap")
        for track, t in data["tracks"].items():
            print(f"  {track:12} {t['items']:5} {t['cases']:5} {t['chance']:.3f} {t['longest']:.3f} "
                  f"{t['central']:.3f} {t['text_only'] if t['text_only'] is not None else 'n/a'} "
                  f"{t['image_blind']:.3f} {t['position_gap']:.3f}")  # fmt: skip
        print(f"  cross-image distractors: {json.dumps(data['cross_image'])}")
        for track, p in data["picture"].items():
            print(f"  {track} distractors: {json.dumps(p)}")
        for t in data["targets"]:
            print(f"  {'met ' if t['met'] else 'MISS'} {t['target']}")
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
