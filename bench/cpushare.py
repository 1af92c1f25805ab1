"""How the encoder and the build's Python share two cores: what each policy costs the encoder.

The whole build's ratio to the encoder-bound limit (issue 9, ``bench/e2e.py``) is mostly the
encoder's pace while the build's own Python runs beside it. This measures that pace apart from the
build, for the thread policies there are, so the one ``mmrare.embedding.cpushare`` uses is a
measured choice and the cost it leaves is a known figure on this machine:

- the encoder alone on 2 torch threads (the raw encoder), and alone on 1;
- real curation Python alone: ``parse_jats`` over the JATS files under ../shared/pmc, in a loop;
- each of them side by side, the encoder on 1 thread (the build's policy while Python is marked),
  on 2 threads (no policy), and on 2 threads with ``OMP_WAIT_POLICY=PASSIVE`` (waiting torch threads
  sleep instead of spinning).

Each side runs in its own process for ``--seconds`` after both are ready. For each pairing:
the encoder's pace (word pieces/s over the raw encoder's), Python's pace (articles/s over Python
alone), ``encoder_lost_per_python_cpu_s`` (the encoder-seconds lost per CPU-second Python got) and
``encoder_lost_per_python_work_s`` (per second of Python work, as long as it takes alone; a policy
that slows Python makes it do the same work in more seconds). The latter is what each second of the
build's Python costs the build's wall under that policy; the lowest is the one to use.

    .venv/bin/python bench/cpushare.py [--seconds 20] [--texts 1500]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from typing import Any

from encoder import SHARED, jats_sentences  # bench/encoder.py: the same real sentences

PAIRINGS: dict[str, list[tuple[str, dict[str, str]]]] = {
    "encoder 2 threads alone": [("encoder:2", {})],
    "encoder 1 thread alone": [("encoder:1", {})],
    "python alone": [("python", {})],
    "encoder 1 thread + python (the build's policy)": [("encoder:1", {}), ("python", {})],
    "encoder 2 threads + python": [("encoder:2", {}), ("python", {})],
    "encoder 2 threads, passive wait + python": [
        ("encoder:2", {"OMP_WAIT_POLICY": "PASSIVE"}),
        ("python", {}),
    ],
}


def encoder_side(threads: int, seconds: float, n_texts: int) -> dict[str, Any]:
    """Encode real sentences in batches of 100 for ``seconds`` once told to start."""
    from mmrare.embedding import load_encoder
    from mmrare.embedding.model import thread_use_since

    texts = jats_sentences(SHARED / "pmc")[:n_texts]
    encoder = load_encoder(threads=threads)
    encoder.encode(texts[:64])  # warm-up
    start_signal()
    before = encoder.thread_use()
    started, cpu, done = time.perf_counter(), time.process_time(), 0
    while time.perf_counter() - started < seconds:
        at = done % len(texts)
        encoder.encode(texts[at : at + 100])
        done += 100
    wall = time.perf_counter() - started
    pieces = sum(use["word_pieces"] for use in thread_use_since(encoder.thread_use(), before).values())
    return {"word_pieces_per_s": pieces / wall, "cpu_per_wall": (time.process_time() - cpu) / wall}


def python_side(seconds: float) -> dict[str, Any]:
    """Parse the shared JATS articles (lxml, sentence splitting) in a loop for ``seconds``."""
    from mmrare.curation.jats import parse_jats

    files = sorted((SHARED / "pmc" / "articles").glob("*.xml"))
    start_signal()
    started, cpu, done = time.perf_counter(), time.process_time(), 0
    while time.perf_counter() - started < seconds:
        parse_jats(files[done % len(files)])
        done += 1
    wall = time.perf_counter() - started
    return {"articles_per_s": done / wall, "cpu_per_wall": (time.process_time() - cpu) / wall}


def start_signal() -> None:
    """Say ready, then wait for the parent's go (both sides start together)."""
    print("ready", flush=True)
    sys.stdin.readline()


def run_pairing(
    sides: list[tuple[str, dict[str, str]]], seconds: float, n_texts: int
) -> list[dict[str, Any]]:
    """Start each side in its own process, release them together, collect their figures."""
    procs = []
    for role, env in sides:
        command = [sys.executable, __file__, "--role", role, "--seconds", str(seconds)]
        procs.append(subprocess.Popen(
            [*command, "--texts", str(n_texts)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, **env},
        ))
    for proc in procs:
        if proc.stdout.readline().strip() != "ready":
            raise SystemExit(f"a side of the pairing failed to start: {proc.args}")
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = [json.loads(proc.stdout.readline()) for proc in procs]
    for proc in procs:
        proc.wait()
    return results


def summarise(raw: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Paces against each side alone, and the encoder's loss per CPU-second Python got."""
    encoder_alone = raw["encoder 2 threads alone"][0]["word_pieces_per_s"]
    python_alone = raw["python alone"][0]["articles_per_s"]
    out: dict[str, Any] = {}
    for name, sides in raw.items():
        row: dict[str, Any] = {}
        for side in sides:
            if "word_pieces_per_s" in side:
                row["encoder_pace"] = round(side["word_pieces_per_s"] / encoder_alone, 3)
                row["encoder_cpu_per_wall"] = round(side["cpu_per_wall"], 2)
            else:
                row["python_pace"] = round(side["articles_per_s"] / python_alone, 3)
                row["python_cpu_per_wall"] = round(side["cpu_per_wall"], 2)
        if "encoder_pace" in row and "python_pace" in row:
            lost = 1 - row["encoder_pace"]
            row["encoder_lost_per_python_cpu_s"] = round(lost / row["python_cpu_per_wall"], 3)
            row["encoder_lost_per_python_work_s"] = round(lost / row["python_pace"], 3)
        out[name] = row
    return out


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--texts", type=int, default=1500)
    parser.add_argument("--role", default="", help=argparse.SUPPRESS)  # a side, run by the parent
    args = parser.parse_args(argv)
    if args.role:
        if args.role == "python":
            result = python_side(args.seconds)
        else:
            result = encoder_side(int(args.role.split(":")[1]), args.seconds, args.texts)
        print(json.dumps(result), flush=True)
        return
    raw = {}
    for name, sides in PAIRINGS.items():
        raw[name] = run_pairing(sides, args.seconds, args.texts)
        print(f"{name}: {raw[name]}", file=sys.stderr, flush=True)
    report = {
        "bench": "cpushare",
        "machine": {
            "cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()
        },
        "seconds": args.seconds,
        "pairings": summarise(raw),
        "raw": raw,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
