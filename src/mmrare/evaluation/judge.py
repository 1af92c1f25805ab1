"""Level-2 rubric: an LLM judge (any OpenAI-compatible endpoint) grades correctness and grounding.

The judge sees the question, the gold answer and gold evidence images, and the model's reply; it
returns two integer marks. Replies are cached like model replies (keyed by judge model, rubric
sha256 and the graded reply), and the judge model + rubric sha256 go into the results, because a
judge score means nothing without knowing which judge and which rubric produced it.
"""

from __future__ import annotations

import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mmrare.errors import RecordError, RetryableError
from mmrare.evaluation.cache import ReplyCache, cache_key
from mmrare.evaluation.client import ChatClient, reply_text
from mmrare.evaluation.predictions import Prediction
from mmrare.evaluation.release import Item, Release
from mmrare.evaluation.scoring import ExtraMetric

JUDGE_PROMPT_VERSION = "judge-rubric/1"
JUDGE_SYSTEM = (
    "You are a strict grader of answers to medical case questions. Grade the candidate reply against "
    'the reference. Reply with JSON only: {"correctness": 0|1|2, "grounding": 0|1|2}.\n'
    "correctness: 2 = same answer as the reference (synonyms allowed), 1 = partly right (a broader or "
    "closely related answer), 0 = wrong or no answer.\n"
    "grounding: 2 = cites exactly the evidence images and describes what they show, 1 = cites some of "
    "them or cites extra images, 0 = cites none of them."
)
_MAX = 4.0


def rubric_sha256() -> str:
    return hashlib.sha256(json.dumps([JUDGE_PROMPT_VERSION, JUDGE_SYSTEM]).encode()).hexdigest()


def judge_messages(item: Item, prediction: Prediction) -> list[dict[str, Any]]:
    evidence = ", ".join(f"Image {p}" for p in item.evidence_image_positions) or "none"
    reference = "; ".join([item.answer, *item.aliases])
    user = (
        f"Question: {item.question}\n"
        f"Reference answer: {reference}\n"
        f"Evidence images: {evidence} (of {len(item.images)})\n\n"
        f"Candidate reply:\n{prediction.raw or prediction.answer}"
    )
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]


def parse_judgement(text: str) -> float | None:
    """(correctness + grounding) / 4 from the judge's JSON, or None when it is unusable."""
    match = re.search(r"\{.*?\}", text, re.DOTALL)
    if not match:
        return None
    try:
        data = json.loads(match.group(0))
        marks = [int(data["correctness"]), int(data["grounding"])]
    except (ValueError, KeyError, TypeError):
        return None
    if not all(0 <= m <= 2 for m in marks):
        return None
    return sum(marks) / _MAX


@dataclass
class JudgeRun:
    metric: ExtraMetric
    requested: int
    cached: int
    unusable: int
    failed: list[str]


def run_judge(
    release: Release,
    by_model: dict[str, dict[str, Prediction]],
    client: ChatClient,
    judge_model: str,
    cache: ReplyCache,
    *,
    concurrency: int = 4,
) -> JudgeRun:
    """Grade every prediction; unusable judge replies and failed requests leave the item unscored."""
    items = release.by_id()
    jobs: list[tuple[str, str, list[dict[str, Any]], str]] = []
    texts: dict[tuple[str, str], str] = {}
    for model, preds in sorted(by_model.items()):
        for item_id, pred in sorted(preds.items()):
            messages = judge_messages(items[item_id], pred)
            key = cache_key("judge/1", judge_model, rubric_sha256(), messages)
            hit = cache.get(key)
            if hit is not None:
                texts[(model, item_id)] = hit["text"]
            else:
                jobs.append((model, item_id, messages, key))
    cached = len(texts)
    failed: list[str] = []

    def ask(job: tuple[str, str, list[dict[str, Any]], str]) -> tuple[tuple[str, str], str | None]:
        model, item_id, messages, key = job
        payload = {"model": judge_model, "messages": messages, "temperature": 0.0, "max_tokens": 64}
        try:
            text = reply_text(client.complete(payload, record_id=f"{model}/{item_id}"))
        except (RecordError, RetryableError) as exc:
            failed.append(str(exc))
            return (model, item_id), None
        cache.put(key, {"judge_model": judge_model, "rubric_sha256": rubric_sha256(), "text": text})
        return (model, item_id), text

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for pair, text in pool.map(ask, jobs):
            if text is not None:
                texts[pair] = text
    scores: dict[tuple[str, str], float] = {}
    unusable = 0
    for pair, text in texts.items():
        value = parse_judgement(text)
        if value is None:
            unusable += 1
        else:
            scores[pair] = value
    metric = ExtraMetric(
        name="judge",
        version=JUDGE_PROMPT_VERSION,
        binary=False,
        scores=scores,
        provenance={
            "judge_model": judge_model,
            "endpoint": client.url,
            "prompt_version": JUDGE_PROMPT_VERSION,
            "prompt_sha256": rubric_sha256(),
            "graded": len(scores),
            "unusable": unusable,
            "failed": len(failed),
        },
    )
    return JudgeRun(metric=metric, requested=len(jobs), cached=cached, unusable=unusable, failed=failed)
