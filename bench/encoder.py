"""Encoder benchmark: the encoder-bound limit of the pipeline, and what the cache costs instead.

Every stage that compares meaning ends in ``Encoder.encode``, so its sentences per second on this
machine caps the whole pipeline's throughput on new text; ``EmbeddingCache`` lookups are what a
re-run pays instead. Prints one JSON object.

    .venv/bin/python bench/encoder.py [--sentences 2000] [--batch-size 64] [--threads N] [--repeats 3]

Sentences are real: paragraph text from the JATS files under ../shared/pmc (tags stripped by regex,
split at sentence ends, 4-120 words, de-duplicated, shuffled with a fixed seed so every article
contributes). The encoder gets a warm-up batch, then the whole set is encoded ``--repeats`` times
and the median rate is reported (the machine may be shared; ``loadavg_1m`` says how busy it was).
The cache figure uses 100k distinct texts and a stub encoder: it measures hashing, index lookup and
reading vectors back, not the model.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared"
_PARAGRAPH = re.compile(r"<p\b[^>]*>(.*?)</p>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")
_SEED = 20240229


def jats_sentences(pmc_dir: Path) -> list[str]:
    """Distinct prose sentences from every JATS file under ``pmc_dir``, in a fixed shuffled order."""
    files = sorted(p for p in pmc_dir.rglob("*") if p.suffix in {".xml", ".nxml"})
    seen: dict[str, None] = {}
    for path in files:
        for paragraph in _PARAGRAPH.findall(path.read_text(encoding="utf-8", errors="replace")):
            text = " ".join(html.unescape(_TAG.sub(" ", paragraph)).split())
            for sentence in _SENTENCE_END.split(text):
                if 4 <= len(sentence.split()) <= 120:
                    seen.setdefault(sentence)
    sentences = list(seen)
    random.Random(_SEED).shuffle(sentences)
    return sentences


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def encoder_rates(encoder: Any, sentences: list[str], batch_size: int, repeats: int) -> list[float]:
    """Sentences per second over ``repeats`` full passes, after a warm-up batch."""
    encoder.encode(sentences[:batch_size], batch_size=batch_size)
    rates = []
    for _ in range(repeats):
        _, seconds = timed(encoder.encode, sentences, batch_size=batch_size)
        rates.append(len(sentences) / seconds)
    return rates


class StubEncoder:
    """Unit vectors from sha512(text): lets the cache bench fill 100k entries in a second."""

    model_id = "bench/stub"
    model_sha256 = "0" * 64
    dim = 384

    def encode(self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        raw = b"".join(hashlib.sha512(t.encode()).digest() * 6 for t in texts)
        vectors = np.frombuffer(raw, dtype=np.int8).reshape(len(texts), self.dim).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def cache_lookup_rates(sentences: list[str], n_lookups: int) -> dict[str, float]:
    """Cached-lookup rate of a freshly opened cache (what a re-run sees) and of a warm one."""
    from mmrare.embedding import EmbeddingCache

    texts = [f"{sentences[i % len(sentences)]} [{i}]" for i in range(n_lookups)]
    with tempfile.TemporaryDirectory(prefix="mmrare-bench-") as root:
        writer = EmbeddingCache(Path(root), StubEncoder())
        for start in range(0, n_lookups, 10_000):
            writer.embed(texts[start : start + 10_000])
        cache, open_s = timed(EmbeddingCache, Path(root), StubEncoder())
        _, first_s = timed(cache.embed, texts)
        warm = [timed(cache.embed, texts)[1] for _ in range(3)]
        if cache.encoded:
            raise RuntimeError("cache bench encoded texts that should have been cached")
    return {
        "cache_open_s": round(open_s, 4),
        "cache_hit_lookup_per_s": round(n_lookups / first_s),
        "cache_hit_lookup_warm_per_s": round(n_lookups / statistics.median(warm)),
    }


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    from mmrare.embedding.model import available_cpus

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=2000, help="sentences per timed pass")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=available_cpus(), help="torch intra-op threads")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes (median reported)")
    parser.add_argument("--cache-lookups", type=int, default=100_000)
    parser.add_argument("--pmc-dir", type=Path, default=SHARED / "pmc")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> None:
    args = parse_args(argv)
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from mmrare.embedding import load_encoder, model_digest, packaged_model_dir

    corpus = jats_sentences(args.pmc_dir)
    sentences = corpus[: args.sentences]
    _, import_s = timed(__import__, "sentence_transformers")
    _, digest_s = timed(model_digest, packaged_model_dir())
    encoder, load_s = timed(load_encoder, threads=args.threads)
    loadavg_before = os.getloadavg()[0]
    rates = encoder_rates(encoder, sentences, args.batch_size, args.repeats)
    report = {
        "model_id": encoder.model_id,
        "model_sha256": encoder.model_sha256,
        "import_s": round(import_s, 3),
        "load_s": round(load_s, 3),
        "digest_s": round(digest_s, 3),
        "sentences": len(sentences),
        "mean_chars": round(statistics.mean(len(s) for s in sentences), 1),
        "batch_size": args.batch_size,
        "threads": encoder.threads,
        "repeats": args.repeats,
        "sentences_per_s": round(statistics.median(rates), 1),
        "sentences_per_s_runs": [round(r, 1) for r in rates],
        **cache_lookup_rates(corpus, args.cache_lookups),
        "cache_lookups": args.cache_lookups,
        "loadavg_1m": round(loadavg_before, 2),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "torch": sys.modules["torch"].__version__,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
