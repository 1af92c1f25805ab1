"""Locating evidence sentences in a drafted context whose text was rewritten (figure references,
citations) — on real sentences from the shared sample articles."""

from __future__ import annotations

from mmrare.annotations.review.highlight import locate, segments
from mmrare.annotations.review.store import ReviewStore


def test_every_context_sentence_is_found_in_its_real_context(store: ReviewStore) -> None:
    with store.read() as cur:
        rows = cur.execute(
            "SELECT q.context, s.sentence_id, s.text FROM qa_items q,"
            " unnest(q.context_sentence_ids::VARCHAR[]) AS u(sid) JOIN sentences s ON s.sentence_id = u.sid"
        ).fetchall()
    assert len(rows) > 50
    rewritten = found = 0
    for context, _, text in rows:
        rewritten += text not in context
        span = locate(context, text)
        if span is not None:
            found += 1
            start, end = span
            assert context[start:end].split()[0].strip("(").casefold()[:3] in text.casefold()
    assert rewritten > 0, "the sample should include sentences the drafter rewrote"
    assert found / len(rows) > 0.95


def test_sentences_not_in_the_context_are_reported_missing() -> None:
    context = (
        "A 46-year-old woman presented with diarrhea."
        " Colonoscopy showed loss of the vascular pattern (Image 1)."
    )
    segs, missing = segments(
        context,
        [
            ("s1", "Colonoscopy showed loss of the vascular pattern (Figure 1)."),
            ("s2", "Therefore, our patient was diagnosed with AIE."),
        ],
    )
    assert missing == ["s2"]
    assert "".join(s.text for s in segs) == context
    assert [s.sentence_id for s in segs if s.sentence_id] == ["s1"]
    assert next(s.text for s in segs if s.sentence_id).startswith("Colonoscopy")
