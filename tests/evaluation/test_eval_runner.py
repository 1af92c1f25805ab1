"""The model runner against a fake OpenAI-compatible server on 127.0.0.1: wire format, cache, resume."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai_server import FakeOpenAIServer

from mmrare.evaluation.cache import ReplyCache
from mmrare.evaluation.client import ChatClient, TokenBucket
from mmrare.evaluation.metrics import select_metrics
from mmrare.evaluation.predictions import read_predictions
from mmrare.evaluation.release import load_release
from mmrare.evaluation.runner import RunSettings, run_predictions
from mmrare.evaluation.scoring import score_release
from mmrare.evaluation.settings import ScoringSettings

REPLIES = {
    "D1": "Answer: B\nThe angiokeratomas in Image 2 suggest Fabry disease.",
    "D2": "**Answer:** (A)\nCafé-au-lait macules in the first and second images.",
    "D3": "The answer is C. See Image 1.",
    "E1": "Answer: A",
    "X1": "Answer: C\nOnly the third image shows it.",
}


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    fake = FakeOpenAIServer(replies=dict(REPLIES)).start()
    yield fake
    fake.stop()


def _client(server: FakeOpenAIServer, **kw: float) -> ChatClient:
    return ChatClient(server.url, rate=kw.pop("rate", 1000.0), backoff_s=0.01, **kw)  # type: ignore[arg-type]


def test_run_sends_images_in_order_and_writes_predictions(
    release_dir: Path, tmp_path: Path, server: FakeOpenAIServer
) -> None:
    release = load_release(release_dir)
    out = tmp_path / "preds.jsonl"
    summary = run_predictions(
        release, _client(server), RunSettings(model="fake-vlm"), ReplyCache(tmp_path / "cache"), out,
        show_progress=False,
    )  # fmt: skip
    assert server.errors == []
    assert (summary.items, summary.cached, summary.requested, summary.attempts, summary.failed) == (
        7,
        0,
        7,
        7,
        [],
    )
    assert server.count == 7
    by_case = {r.case_id: r for r in server.requests}
    for item in release.items:
        assert by_case[item.item_id].image_sha256 == [im.sha256 for im in item.images]
        assert by_case[item.item_id].model == "fake-vlm"
    preds = {p.item_id: p for p in read_predictions(out).predictions}
    assert (preds["D1"].option, preds["D1"].answer) == ("B", "B")
    assert preds["D2"].option == "A"
    assert preds["D3"].option == "C"
    assert preds["T1"].option == "A"  # the default reply
    assert preds["X1"].raw == REPLIES["X1"]
    assert (out.parent / "preds.jsonl.meta.json").is_file()

    results = score_release(release, [read_predictions(out)], select_metrics(), ScoringSettings())
    scores = {r["item_id"]: r["scores"] for r in results["items"]}
    assert [scores[i]["accuracy"] for i in ("D1", "D2", "D3", "E1", "E2", "T1", "X1")] == [
        1,
        1,
        1,
        1,
        1,
        0,
        1,
    ]
    assert scores["D2"]["grounding_f1"] == 1.0  # "the first and second images" from the raw reply
    assert scores["X1"]["grounding_f1"] == 1.0


def test_resumed_run_sends_no_repeated_request(
    release_dir: Path, tmp_path: Path, server: FakeOpenAIServer
) -> None:
    cache = ReplyCache(tmp_path / "cache")
    settings = RunSettings(model="fake-vlm", concurrency=3)
    # an interrupted run: only the diagnosis items were answered
    partial = load_release(release_dir, tracks=["diagnosis"])
    run_predictions(partial, _client(server), settings, cache, tmp_path / "part.jsonl", show_progress=False)
    assert server.count == 3
    full = load_release(release_dir)
    out = tmp_path / "full.jsonl"
    summary = run_predictions(full, _client(server), settings, cache, out, show_progress=False)
    assert (summary.cached, summary.requested) == (3, 4)
    counts = Counter(r.case_id for r in server.requests)
    assert sorted(counts) == sorted(i.item_id for i in full.items)
    assert set(counts.values()) == {1}  # nothing asked twice
    first_sha = summary.predictions_sha256
    again = run_predictions(full, _client(server), settings, cache, out, show_progress=False)
    assert (again.cached, again.requested, again.attempts) == (7, 0, 0)
    assert server.count == 7
    assert again.predictions_sha256 == first_sha
    # another model or another prompt mode is a different key
    run_predictions(
        full, _client(server), RunSettings(model="fake-vlm", mode="open"), cache, tmp_path / "open.jsonl",
        show_progress=False,
    )  # fmt: skip
    assert server.count == 14


def test_retries_429_and_5xx_then_succeeds(
    release_dir: Path, tmp_path: Path, server: FakeOpenAIServer
) -> None:
    server.add_faults(429, 500, 503)
    release = load_release(release_dir, tracks=["cross_image"])
    summary = run_predictions(
        release, _client(server), RunSettings(model="m", concurrency=1), ReplyCache(tmp_path / "c"),
        tmp_path / "p.jsonl", show_progress=False,
    )  # fmt: skip
    assert (summary.requested, summary.attempts, summary.failed) == (1, 4, [])
    assert read_predictions(tmp_path / "p.jsonl").predictions[0].option == "C"


def test_refused_request_is_a_failure_not_cached(
    release_dir: Path, tmp_path: Path, server: FakeOpenAIServer
) -> None:
    server.add_faults(400)
    release = load_release(release_dir, tracks=["cross_image"])
    cache = ReplyCache(tmp_path / "c")
    settings = RunSettings(model="m", concurrency=1)
    summary = run_predictions(
        release, _client(server), settings, cache, tmp_path / "p.jsonl", show_progress=False
    )
    assert len(summary.failed) == 1 and "X1: http_400" in summary.failed[0]
    assert read_predictions(tmp_path / "p.jsonl").predictions == []
    summary = run_predictions(
        release, _client(server), settings, cache, tmp_path / "p.jsonl", show_progress=False
    )
    assert (summary.requested, summary.failed) == (1, [])


def test_token_bucket_limits_the_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from mmrare.evaluation import client

    now = [0.0]  # a clock only the bucket's sleeps move: no wall time is measured

    def sleep(seconds: float) -> None:
        now[0] += seconds

    monkeypatch.setattr(client, "time", SimpleNamespace(monotonic=lambda: now[0], sleep=sleep))
    bucket = TokenBucket(rate=50.0, capacity=1.0)
    for _ in range(11):
        bucket.acquire()
    assert now[0] == pytest.approx(10 / 50)  # one burst token, then one every 1/50 s


def test_concurrency_overlaps_slow_requests(
    release_dir: Path, tmp_path: Path, server: FakeOpenAIServer
) -> None:
    server.delay_s = 0.3
    release = load_release(release_dir)
    run_predictions(
        release, _client(server), RunSettings(model="m", concurrency=3), ReplyCache(tmp_path / "c"),
        tmp_path / "p.jsonl", show_progress=False,
    )  # fmt: skip
    # requests overlap (checked by the server, not by a wall clock), and never beyond the bound
    assert 2 <= server.max_in_flight <= 3


def test_a_dead_endpoint_is_one_error_before_any_progress_and_writes_nothing(
    release_dir: Path, tmp_path: Path
) -> None:
    import socket

    from mmrare.errors import FatalError

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    progress: list[int] = []
    out = tmp_path / "p.jsonl"
    client = ChatClient(f"http://127.0.0.1:{port}/v1", rate=1000.0, backoff_s=0.01, max_attempts=2)
    with pytest.raises(FatalError, match="does not answer") as caught:
        run_predictions(
            load_release(release_dir), client, RunSettings(model="m"), ReplyCache(tmp_path / "c"), out,
            show_progress=False, on_done=lambda done, total: progress.append(done),
        )  # fmt: skip
    assert "\n" not in str(caught.value)
    assert not out.exists() and progress == [] and client.attempts == 2
