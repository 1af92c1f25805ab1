"""The encoder in a child process: the same vectors as in this process, one-line failures, no orphans."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest
from lxml import etree

from mmrare.embedding import PINNED_MODEL_SHA256, Encoder, EncoderProcess, TextEncoder
from mmrare.errors import FatalError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def child() -> Iterator[EncoderProcess]:
    with EncoderProcess(threads=2) as process:  # the threads of the in-process `encoder` fixture
        yield process


def _article_sentences(shared_dir: Path, n: int) -> list[str]:
    """Paragraph text of a real case report, cut at full stops (long and short pieces)."""
    xml = next((shared_dir / "pmc" / "packages" / "PMC6358579").glob("*.xml"))
    paragraphs = ["".join(p.itertext()) for p in etree.parse(str(xml)).iter("p")]
    pieces = [s.strip() for p in paragraphs for s in p.split(". ") if s.strip()]
    return pieces[:n]


def _encoder_children() -> set[int]:
    """This process's live multiprocessing children (the encoder's worker), zombies excluded."""
    found = set()
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(proc.cmdline()):
                found.add(proc.pid)
        except psutil.NoSuchProcess:
            continue
    return found


def test_vectors_are_byte_identical_to_the_encoder_in_this_process(
    child: EncoderProcess, encoder: Encoder, shared_dir: Path
) -> None:
    texts = _article_sentences(shared_dir, 60)
    assert len(texts) == 60
    there = child.encode(texts, batch_size=16)
    assert isinstance(child, TextEncoder)
    assert there.dtype == np.float32 and there.shape == (60, 384)
    assert there.tobytes() == encoder.encode(texts, batch_size=16).tobytes()
    assert (child.model_id, child.model_sha256, child.dim) == (encoder.model_id, PINNED_MODEL_SHA256, 384)


def test_encode_async_returns_futures_that_come_back_in_order(
    child: EncoderProcess, encoder: Encoder, shared_dir: Path
) -> None:
    texts = _article_sentences(shared_dir, 40)
    first = child.encode_async(texts[:20])
    second = child.encode_async(texts[20:], batch_size=8)
    words = sorted({w for t in texts for w in t.split()})  # Python work while the child encodes
    assert words
    np.testing.assert_array_equal(first.result(), encoder.encode(texts[:20]))
    np.testing.assert_array_equal(second.result(), encoder.encode(texts[20:], batch_size=8))


def test_empty_input_and_bare_string(child: EncoderProcess) -> None:
    assert child.encode([]).shape == (0, 384)
    with pytest.raises(TypeError, match="single string"):
        child.encode("fever")


def test_a_model_that_does_not_verify_is_one_fatal_line() -> None:
    before = _encoder_children()
    with EncoderProcess(expected_sha256="0" * 64, threads=1) as process:
        with pytest.raises(FatalError, match=r"^encoder process: FatalError: .*expected 0000") as raised:
            process.encode(["fever"])
        assert "\n" not in str(raised.value)
        with pytest.raises(FatalError, match="expected 0000"):
            _ = process.dim  # the identity fails the same way
    assert _encoder_children() == before


def test_a_missing_model_directory_is_one_fatal_line(tmp_path: Path) -> None:
    process = EncoderProcess(tmp_path / "nowhere", threads=1)
    with process, pytest.raises(FatalError, match="nowhere does not exist") as raised:
        process.wait_ready()
    assert "\n" not in str(raised.value)


def test_close_ends_the_child_and_later_calls_fail_clearly() -> None:
    before = _encoder_children()
    process = EncoderProcess(threads=1)
    assert process.encode(["renal cyst"]).shape == (1, 384)
    assert len(_encoder_children() - before) == 1
    process.close()
    process.close()  # idempotent
    assert _encoder_children() == before
    with pytest.raises(FatalError, match=r"^encoder process was closed$"):
        process.encode(["renal cyst"])
    assert repr(process) == "EncoderProcess(closed)"


def test_a_child_that_dies_is_one_fatal_line() -> None:
    before = _encoder_children()
    with EncoderProcess(threads=1) as process:
        process.wait_ready()
        (pid,) = _encoder_children() - before
        os.kill(pid, signal.SIGKILL)
        psutil.Process(pid).wait(timeout=60)
        with pytest.raises(FatalError, match=r"^encoder process died: ") as raised:
            process.encode(["renal cyst"])
        assert "\n" not in str(raised.value)
    assert _encoder_children() == before


def test_the_child_ends_when_its_parent_dies_without_closing_it() -> None:
    script = (
        "import os, psutil\n"
        "from mmrare.embedding import EncoderProcess\n"
        "p = EncoderProcess(threads=1)\n"
        "p.wait_ready()\n"
        "print(*(c.pid for c in psutil.Process().children()), flush=True)\n"
        "os._exit(0)\n"  # no close, no finalizers: the child only sees its parent go
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    pids = [int(pid) for pid in done.stdout.split()]
    assert pids
    for pid in pids:  # the worker, and the resource tracker multiprocessing starts beside it
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(pid).wait(timeout=60)
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
