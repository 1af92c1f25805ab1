"""Calibrate the embedding fallback's threshold (``ontology.fallback_threshold``) on ORDO itself.

    .venv/bin/python bench/fallback_calibration.py [--sample 3000] [--target-precision 0.95]

The fallback sees disease phrases the lexical matcher missed: reworded or partial names. Proxy for
that, taken from ORDO with a fixed seed:

- **positives**: synonyms of answerable concepts, searched in an index of *preferred labels only*
  (so the synonym itself is not in the index); correct when the top hit is the synonym's concept;
- **negatives**: names that must not become a rare-disease diagnosis: labels and synonyms of
  "non rare in Europe" concepts, categories and genes; any hit above the threshold is a false mapping.

For thresholds 0.50..0.95 it prints precision (correct / all accepted), recall of positives and the
negative acceptance rate, then the lowest threshold whose precision meets ``--target-precision``.
Vectors are cached under ``--cache`` (sha256(model + text)), so a re-run embeds nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from mmrare.embedding import EmbeddingCache, VectorIndex, load_encoder
from mmrare.ontology.linking.generic import Answerability, answerability
from mmrare.ontology.model import EntityType
from mmrare.ontology.store import load_ordo

SHARED = Path(__file__).resolve().parents[2] / "shared"
REPO = Path(__file__).resolve().parents[1]


def _samples(index, sample: int, seed: int) -> tuple[list[str], list[str], list[str], list[str]]:
    labels, label_codes, positives, negatives = [], [], [], []
    for concept in sorted(index.concepts(), key=lambda c: c.code):
        kind = answerability(index, concept.code)
        if kind is Answerability.ANSWERABLE:
            labels.append(concept.label)
            label_codes.append(concept.code)
            lowered = concept.label.casefold()
            positives += [(s, concept.code) for s in concept.synonyms if s.casefold() != lowered]
        elif kind is Answerability.NON_RARE or concept.entity_type in (EntityType.CATEGORY, EntityType.GENE):
            negatives += [concept.label, *concept.synonyms]
    rng = random.Random(seed)
    picked = rng.sample(positives, min(sample, len(positives)))
    neg = rng.sample(negatives, min(sample // 2, len(negatives)))
    return labels, label_codes, [p[0] for p in picked], [p[1] for p in picked] + neg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ordo", type=Path, default=SHARED / "ordo" / "ORDO_en_4.2.owl.gz")
    parser.add_argument("--cache", type=Path, default=REPO / "workspace" / "cache")
    parser.add_argument("--sample", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target-precision", type=float, default=0.95)
    args = parser.parse_args()

    index = load_ordo(args.ordo, args.cache / "ordo")
    labels, label_codes, positives, rest = _samples(index, args.sample, args.seed)
    gold = rest[: len(positives)]
    negatives = rest[len(positives) :]
    encoder = load_encoder()
    cache = EmbeddingCache(args.cache / "embeddings", encoder)
    started = time.perf_counter()
    vectors = VectorIndex.build(label_codes, cache.embed(labels))
    queries = cache.embed(positives + negatives)
    embed_s = time.perf_counter() - started
    hits = [row[0] for row in vectors.search(queries, k=1)]
    pos_hits, neg_hits = hits[: len(positives)], hits[len(positives) :]
    pos_score = np.array([h.score for h in pos_hits])
    pos_ok = np.array([h.key == g for h, g in zip(pos_hits, gold, strict=True)])
    neg_score = np.array([h.score for h in neg_hits])

    table: list[dict[str, Any]] = []
    for t in np.round(np.arange(0.50, 0.96, 0.05), 2):
        accepted_pos = pos_score >= t
        correct = int((accepted_pos & pos_ok).sum())
        wrong = int((accepted_pos & ~pos_ok).sum()) + int((neg_score >= t).sum())
        table.append(
            {
                "threshold": float(t),
                "precision": round(correct / (correct + wrong), 4) if correct + wrong else 1.0,
                "recall": round(correct / len(positives), 4),
                "negative_accept_rate": round(float((neg_score >= t).mean()), 4),
            }
        )
    chosen = next((r["threshold"] for r in table if r["precision"] >= args.target_precision), None)
    print(
        json.dumps(
            {
                "ordo_version": index.release.version,
                "model_id": encoder.model_id,
                "model_sha256": encoder.model_sha256,
                "n_labels": len(labels),
                "n_positive_queries": len(positives),
                "n_negative_queries": len(negatives),
                "embed_s": round(embed_s, 1),
                "cache_hits": cache.hits,
                "table": table,
                "target_precision": args.target_precision,
                "chosen_threshold": chosen,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
