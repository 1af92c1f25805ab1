"""The encoder in its own process: the same vectors as in this process, clear failures, no orphans."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from lxml import etree

from mmrare.embedding import PINNED_MODEL_SHA256, Encoder
from mmrare.embedding import remote as remote_module
from mmrare.embedding.cpushare import python_work
from mmrare.embedding.model import thread_use_since
from mmrare.embedding.remote import EncoderProcess, prestart, start_encoder_process
from mmrare.errors import FatalError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def child() -> Iterator[EncoderProcess]:
    process = EncoderProcess(threads=2)
    try:
        yield process
    finally:
        process.close()


def _article_sentences(shared_dir: Path, n: int) -> list[str]:
    """Paragraph text of a real case report, cut at full stops (long and short pieces)."""
    xml = next((shared_dir / "pmc" / "packages" / "PMC6358579").glob("*.xml"))
    paragraphs = ["".join(p.itertext()) for p in etree.parse(str(xml)).iter("p")]
    pieces = [s.strip() for p in paragraphs for s in p.split(". ") if s.strip()]
    return pieces[:n]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); it has exited all the same
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def test_vectors_equal_the_encoder_in_this_process(
    child: EncoderProcess, encoder: Encoder, shared_dir: Path
) -> None:
    texts = _article_sentences(shared_dir, 60)
    assert len(texts) == 60
    here = encoder.encode(texts)
    there = child.encode(texts)
    with python_work():  # the child on one torch thread: the vectors do not depend on it
        there_busy = child.encode(texts, batch_size=16)
    assert there.dtype == np.float32 and there.shape == (60, 384)
    np.testing.assert_array_equal(there, here)
    np.testing.assert_allclose(there_busy, here, atol=1e-6)
    assert (child.model_id, child.model_sha256, child.dim) == (encoder.model_id, PINNED_MODEL_SHA256, 384)
    assert child.threads == 2 and child.max_seq_length == 256 and child.model_dir == encoder.model_dir


def test_thread_use_reports_the_childs_texts_and_word_pieces_per_thread_count(
    child: EncoderProcess, encoder: Encoder, shared_dir: Path
) -> None:
    texts = _article_sentences(shared_dir, 40)
    before = child.thread_use()
    child.encode(texts)
    with python_work():
        child.encode(texts[:10])
    since = thread_use_since(child.thread_use(), before)
    pieces = encoder._token_lengths(texts)
    assert since["2"]["texts"] == 40 and since["2"]["word_pieces"] == sum(pieces)
    assert since["1"]["texts"] == 10 and since["1"]["word_pieces"] == sum(pieces[:10])
    assert all(use["seconds"] > 0 for use in since.values())


def test_empty_input_and_bare_string(child: EncoderProcess) -> None:
    assert child.encode([]).shape == (0, 384)
    with pytest.raises(TypeError, match="single string"):
        child.encode("fever")


def test_a_model_that_does_not_verify_is_one_fatal_line() -> None:
    process = EncoderProcess(expected_sha256="0" * 64)
    with pytest.raises(FatalError, match=r"encoder process pid \d+: FatalError: .*expected 0000") as raised:
        process.encode(["fever"])
    assert "\n" not in str(raised.value)
    assert not _alive(process.pid)


def test_close_ends_the_child_and_later_calls_fail_clearly() -> None:
    process = EncoderProcess(threads=1)
    assert process.encode(["renal cyst"]).shape == (1, 384)
    pid = process.pid
    process.close()
    process.close()  # idempotent
    assert not _alive(pid)
    with pytest.raises(FatalError, match="was closed"):
        process.encode(["renal cyst"])
    assert process.thread_use() == {}  # a closed child has nothing more to report, and no error
    assert "closed" in repr(process)


def test_the_child_ends_when_its_parent_dies_without_closing_it() -> None:
    code = (
        "import os, sys\n"
        "from mmrare.embedding.remote import EncoderProcess\n"
        "p = EncoderProcess(threads=1)\n"
        "p.wait_ready()\n"
        "print(p.pid, flush=True)\n"
        "os._exit(0)\n"  # no finalizers, no close: the child only sees its socket end
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    pid = int(out.stdout.split()[0])
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)


def test_a_prestarted_child_is_handed_out_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote_module, "_prestarted", None)
    prestart()
    first = remote_module._prestarted
    prestart()  # a second call keeps the first child
    assert first is not None and remote_module._prestarted is first
    taken = start_encoder_process()
    try:
        assert taken is first and remote_module._prestarted is None
        other = start_encoder_process()  # none left: a new one
        try:
            assert other is not first and other.pid != first.pid
        finally:
            other.close()
    finally:
        taken.close()


def test_spacy_can_be_imported_without_torch_and_torch_still_imports_later() -> None:
    """The build's process (encoder elsewhere) keeps thinc from importing torch; nothing breaks."""
    script = (
        "import sys\n"
        "from mmrare.embedding.remote import import_spacy_without_torch\n"
        "import_spacy_without_torch()\n"
        "print('torch' in sys.modules)\n"
        "from spacy.lang.en import English\n"
        "from spacy.matcher import PhraseMatcher\n"
        "nlp = English()\n"
        "matcher = PhraseMatcher(nlp.vocab)\n"
        "matcher.add('x', [nlp.make_doc('aortic root')])\n"
        "print(len(matcher(nlp.make_doc('Aortic root dilatation; aortic root'))))\n"
        "import torch\n"
        "print(torch.ones(2).sum().item())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "1", "2.0"]
