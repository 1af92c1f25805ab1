"""The packaged encoder: pinned digest, tamper detection, offline loading, vector contract, semantics."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from mmrare.embedding import (
    MODEL_ID,
    PINNED_MODEL_SHA256,
    Encoder,
    load_encoder,
    model_digest,
    packaged_model_dir,
)
from mmrare.errors import FatalError

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

WEIGHTS = "model.safetensors"


def _copy_model(tmp_path: Path) -> Path:
    """A copy of the packaged model: small files copied, the 90 MB weights symlinked."""
    source = packaged_model_dir()
    target = tmp_path / "model"
    for path in source.rglob("*"):
        if not path.is_file():
            continue
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if path.name == WEIGHTS:
            dest.symlink_to(path)
        else:
            shutil.copyfile(path, dest)
    return target


def test_import_does_not_load_torch_or_faiss() -> None:
    code = (
        "import sys, mmrare.embedding\n"
        "heavy = {'torch', 'faiss', 'sentence_transformers', 'transformers'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_shipped_model_matches_the_pin(encoder: Encoder) -> None:
    assert model_digest(packaged_model_dir()) == PINNED_MODEL_SHA256
    assert encoder.model_sha256 == PINNED_MODEL_SHA256
    assert encoder.model_id == MODEL_ID
    assert encoder.dim == 384


def test_digest_ignores_location_and_documentation(tmp_path: Path) -> None:
    copy = _copy_model(tmp_path)
    (copy / "README.md").write_text("a different model card\n")
    assert model_digest(copy) == PINNED_MODEL_SHA256


def test_tampered_config_is_fatal_and_names_both_digests(tmp_path: Path) -> None:
    copy = _copy_model(tmp_path)
    config = copy / "config.json"
    config.write_text(config.read_text().replace('"hidden_act": "gelu"', '"hidden_act": "relu"'))
    actual = model_digest(copy)
    assert actual != PINNED_MODEL_SHA256
    with pytest.raises(FatalError) as caught:
        load_encoder(copy)
    message = str(caught.value)
    assert str(copy) in message and actual in message and PINNED_MODEL_SHA256 in message


def test_extra_file_changes_the_digest(tmp_path: Path) -> None:
    copy = _copy_model(tmp_path)
    (copy / "2_Normalize").mkdir()
    (copy / "2_Normalize" / "config.json").write_text("{}")
    assert model_digest(copy) != PINNED_MODEL_SHA256


def test_wrong_expected_digest_is_fatal() -> None:
    with pytest.raises(FatalError, match=r"expected 0{64}"):
        load_encoder(expected_sha256="0" * 64)


def test_missing_directory_is_fatal(tmp_path: Path) -> None:
    with pytest.raises(FatalError, match="does not exist"):
        load_encoder(tmp_path / "nowhere")


def test_loading_never_opens_a_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the encoder tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    loaded = load_encoder(threads=1)
    assert loaded.encode(["offline"]).shape == (1, 384)
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_vectors_are_384_float32_unit_rows(encoder: Encoder) -> None:
    vectors = encoder.encode(["Marfan syndrome", "A 9-year-old boy presented with ectopia lentis."])
    assert vectors.shape == (2, 384)
    assert vectors.dtype == np.float32
    assert vectors.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_encoding_is_deterministic(encoder: Encoder) -> None:
    texts = ["Fabry disease", "Renal biopsy showed zebra bodies.", "Fabry disease"]
    first = encoder.encode(texts)
    np.testing.assert_array_equal(first, encoder.encode(texts))
    np.testing.assert_array_equal(first[0], first[2])
    # Another batch composition pads differently; the vector may move in the last float bits only.
    np.testing.assert_allclose(first[1], encoder.encode([texts[1]])[0], atol=1e-5)


def test_worker_threads_get_the_same_vectors(encoder: Encoder) -> None:
    texts = [f"Patient {i} had recurrent fevers and a rash." for i in range(8)]
    expected = encoder.encode(texts)
    results: list[np.ndarray] = []
    workers = [threading.Thread(target=lambda: results.append(encoder.encode(texts))) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(results) == 3
    for result in results:
        np.testing.assert_allclose(result, expected, atol=1e-6)


def test_semantic_sanity(encoder: Encoder) -> None:
    query, close, far = encoder.encode(
        ["Marfan syndrome", "Marfan's syndrome, a connective tissue disorder", "iron deficiency anaemia"]
    )
    assert float(query @ close) > float(query @ far) + 0.3


def test_empty_input_and_bare_string(encoder: Encoder) -> None:
    assert encoder.encode([]).shape == (0, 384)
    with pytest.raises(TypeError, match="single string"):
        encoder.encode("Marfan syndrome")


def test_length_batches_cover_every_text_once_within_the_budget() -> None:
    from mmrare.embedding.model import length_batches

    lengths = [12, 256, 19, 19, 40, 7, 130, 19, 300]
    batches = length_batches(lengths, max_texts=4, token_budget=100)
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(len(lengths)))
    for batch in batches:
        longest = max(lengths[i] for i in batch)
        assert len(batch) <= 4
        assert len(batch) == 1 or longest * len(batch) <= 100  # over the budget alone
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)  # longest first
    assert batches[0] == [8] and batches[1] == [1]
    assert [i for i in flat if lengths[i] == 19] == [2, 3, 7]  # ties in input order
    assert batches[3] == [4, 2]  # 40 word pieces: two fit in 100
    assert length_batches([], 64, 1024) == []


def test_a_long_text_does_not_change_its_batch_neighbours(encoder: Encoder) -> None:
    short = ["renal cyst", "retinal angioma", "VHL"]
    long_text = " ".join(["cerebellar hemangioblastoma with a syrinx on MRI"] * 40)
    alone = encoder.encode(short)
    mixed = encoder.encode([long_text, *short])
    np.testing.assert_allclose(mixed[1:], alone, atol=1e-5)
