"""Figure decoding on real PMC figure files, plus broken, fake and bomb-like files made in tmp_path."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path

import imagehash
import pytest
from PIL import Image, ImageFile

from mmrare.curation.figures import (
    DECOMPRESSION_BOMB,
    FILE_TOO_LARGE,
    MISSING_FILE,
    PHASH_DRAFT_SIZE,
    PHASH_REDUCING_GAP,
    STATUS_OK,
    UNDECODABLE_IMAGE,
    UNREADABLE_FILE,
    _read_bounded,
    decode_graphic,
    decoder_versions,
    describe_status,
    phash,
)
from mmrare.errors import RecordError
from mmrare.records import Graphic

SHARED = Path(__file__).resolve().parents[3] / "shared"
FIGURES = SHARED / "figures"
PREPRINT = SHARED / "pmc" / "packages" / "PMC10802347"
BCR_JPG = FIGURES / "PMC1064083" / "bcr936-1.jpg"
PREPRINT_GIF = PREPRINT / "nihpp-2023.12.31.573776v1-f0001.gif"
PREPRINT_JPG = PREPRINT / "nihpp-2023.12.31.573776v1-f0002.jpg"

# Golden values. sha256 is a property of the file; phash also depends on Pillow and imagehash, so a
# change here means FIGURE_DECODER_VERSION must be bumped, not that the golden value should be edited.
GOLDEN = {
    BCR_JPG: ("e7c27b5d522f3e060f8f9313612be9da855078fb1914ef5028ca285d68702268", "abc9f50a922f5b30",
              "JPEG", 600, 473, "RGB"),
    PREPRINT_GIF: ("18f67160c66bc0dca74ecc64d8e8e44db85b6bde8d36d96ada020682f3288c2d", "97f0170fe00fe89a",
                   "GIF", 100, 128, "P"),
    PREPRINT_JPG: ("4cc3370678a202d52e88ebfccf52479c326cf43f60c35582a07da91f22fd864d", "d5965169aa2da92e",
                   "JPEG", 720, 446, "RGB"),
}


def graphic_for(path: Path | str | None, href: str = "fig1") -> Graphic:
    return Graphic(
        graphic_id="PMCTEST:f1:g0",
        figure_id="PMCTEST:f1",
        pmcid="PMCTEST",
        href=href,
        path=None if path is None else str(path),
    )


def assert_rejected(graphic: Graphic, reason: str) -> None:
    assert graphic.status == reason
    assert (graphic.phash, graphic.format, graphic.width, graphic.height, graphic.mode) == (None,) * 5


@pytest.fixture(scope="module", autouse=True)
def _pillow_defaults() -> None:
    """Truncation detection relies on Pillow's default; fail loudly if something changed it."""
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.mark.parametrize("path", list(GOLDEN), ids=lambda p: p.name)
def test_real_figures_decode_with_golden_hashes(path: Path) -> None:
    sha256, phash, fmt, width, height, mode = GOLDEN[path]
    out = decode_graphic(graphic_for(path))
    assert out.status == STATUS_OK
    assert (out.sha256, out.phash, out.format, out.width, out.height, out.mode) == (
        sha256, phash, fmt, width, height, mode,
    )
    assert out.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (out.graphic_id, out.href, out.path) == ("PMCTEST:f1:g0", "fig1", str(path))


def test_every_shared_figure_decodes_and_is_stable() -> None:
    paths = sorted(FIGURES.glob("*/*.jpg")) + sorted(PREPRINT.glob("*.gif")) + sorted(PREPRINT.glob("*.jpg"))
    assert len(paths) == 27 + 7  # README says 24 files under figures/; there are 27
    for path in paths:
        first, second = decode_graphic(graphic_for(path)), decode_graphic(graphic_for(path))
        assert first.status == STATUS_OK, describe_status(first)
        assert first == second
        assert len(first.phash or "") == 16
        int(first.phash or "", 16)


def test_phash_gives_imagehash_phash_bit_for_bit() -> None:
    """``phash`` restates ``imagehash.phash`` with less Python: same string for every shared figure
    (as decoded, JPEGs in draft mode, and in full) and for images whose coefficients tie at the median."""
    images: list[Image.Image] = []
    for path in sorted(SHARED.glob("**/*")):
        if path.suffix.lower() not in {".jpg", ".jpeg", ".png", ".gif", ".tif", ".tiff"}:
            continue
        for draft in (True, False):
            with Image.open(path) as im:
                if draft and im.format == "JPEG":
                    im.draft("L", PHASH_DRAFT_SIZE)
                im.load()
                images.append(im.copy())
    assert len(images) >= 2 * 34
    images += [
        Image.new("L", (40, 30), 128),
        Image.new("RGBA", (1, 1), (10, 200, 30, 0)),
        Image.new("RGB", (64, 8), (0, 0, 0)),
        Image.linear_gradient("L").convert("P"),
    ]
    for image in images:
        assert phash(image) == str(imagehash.phash(image))


def test_the_reducing_resize_keeps_the_hash_within_a_few_bits_of_imagehash() -> None:
    """The decoder's thumbnail shortcut (``PHASH_REDUCING_GAP``): on every shared figure, as the
    decoder decodes it, the hash stays within 8 of 64 bits of ``imagehash.phash`` (the most seen on
    7,899 shared and synthetic figures) and many keep every bit."""
    distances = []
    for path in sorted(SHARED.glob("**/*")):
        if path.suffix.lower() not in {".jpg", ".jpeg", ".png", ".gif", ".tif", ".tiff"}:
            continue
        with Image.open(path) as im:
            if im.format == "JPEG":
                im.draft("L", PHASH_DRAFT_SIZE)
            im.load()
            fast, exact = phash(im, reducing_gap=PHASH_REDUCING_GAP), str(imagehash.phash(im))
        distances.append(bin(int(fast, 16) ^ int(exact, 16)).count("1"))
    assert len(distances) >= 34
    assert max(distances) <= 8
    assert distances.count(0) >= len(distances) // 3  # 27 of 56 here, 77% of the synthetic ones


def test_dimensions_match_the_metadata_where_it_describes_the_file_on_disk() -> None:
    """The metadata JSONs partly describe .gif thumbnails that are not on disk; only files that
    exist under the listed name with the listed byte size are comparable."""
    compared = 0
    for meta in sorted(FIGURES.glob("*/*_figures_metadata.json")):
        for entry in json.loads(meta.read_text(encoding="utf-8")):
            path = meta.parent / Path(entry["original_file_path"]).name
            if not path.exists() or path.stat().st_size != entry["file_size_bytes"]:
                continue
            out = decode_graphic(graphic_for(path))
            assert [out.width, out.height] == entry["dimensions"], path.name
            compared += 1
    assert compared == 8


@pytest.mark.parametrize(
    ("path", "keep"),
    [(PREPRINT_JPG, 0.5), (FIGURES / "PMC10118017" / "fpls-14-1154535-g002.jpg", 0.5), (BCR_JPG, 0.3)],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_truncated_jpeg_is_undecodable(tmp_path: Path, path: Path, keep: float) -> None:
    data = path.read_bytes()
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(data[: int(len(data) * keep)])
    out = decode_graphic(graphic_for(truncated))
    assert_rejected(out, UNDECODABLE_IMAGE)
    assert out.sha256 == hashlib.sha256(truncated.read_bytes()).hexdigest()  # bytes were read


def test_bytes_after_the_end_of_image_marker_are_ignored(tmp_path: Path) -> None:
    """bcr936-1.jpg (like the other 2005 BMC figures) carries ~37 kB after its first EOI marker, so
    cutting it in half loses no pixels: same phash, different sha256."""
    data = BCR_JPG.read_bytes()
    end = data.index(b"\xff\xd9", data.index(b"\xff\xda")) + 2
    assert len(data) - end == 36_857
    clean = tmp_path / "clean.jpg"
    clean.write_bytes(data[:end])
    original, stripped = decode_graphic(graphic_for(BCR_JPG)), decode_graphic(graphic_for(clean))
    assert stripped.status == STATUS_OK
    assert stripped.phash == original.phash
    assert stripped.sha256 != original.sha256


def test_truncated_gif_is_undecodable(tmp_path: Path) -> None:
    data = PREPRINT_GIF.read_bytes()
    truncated = tmp_path / "half.gif"
    truncated.write_bytes(data[: len(data) // 2])
    assert_rejected(decode_graphic(graphic_for(truncated)), UNDECODABLE_IMAGE)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.jpg", b"this is a caption, not an image\n"),
        ("empty.jpg", b""),
        # An EPS must never reach Ghostscript: the format is outside the allowed list.
        ("figure.eps", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"),
    ],
)
def test_non_images_are_undecodable(tmp_path: Path, name: str, content: bytes) -> None:
    fake = tmp_path / name
    fake.write_bytes(content)
    assert_rejected(decode_graphic(graphic_for(fake)), UNDECODABLE_IMAGE)


def test_missing_files(tmp_path: Path) -> None:
    absent = decode_graphic(graphic_for(None))
    assert_rejected(absent, MISSING_FILE)
    assert absent.sha256 is None
    assert_rejected(decode_graphic(graphic_for(tmp_path / "nope.jpg")), MISSING_FILE)


def test_a_file_that_grew_after_its_stat_is_read_whole_up_to_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "grows.bin"
    path.write_bytes(b"x" * 100)
    real = path.stat()
    stale = os.stat_result((real.st_mode, real.st_ino, real.st_dev, real.st_nlink, real.st_uid, real.st_gid,
                            10, real.st_atime, real.st_mtime, real.st_ctime))
    monkeypatch.setattr(Path, "stat", lambda self, **_: stale)
    assert _read_bounded(path, 100, "r") == b"x" * 100
    with pytest.raises(RecordError) as err:
        _read_bounded(path, 99, "r")
    assert err.value.reason == FILE_TOO_LARGE


def test_a_directory_is_unreadable(tmp_path: Path) -> None:
    assert_rejected(decode_graphic(graphic_for(tmp_path)), UNREADABLE_FILE)


def test_file_over_byte_limit_is_not_read() -> None:
    out = decode_graphic(graphic_for(BCR_JPG), max_bytes=BCR_JPG.stat().st_size - 1)
    assert_rejected(out, FILE_TOO_LARGE)
    assert out.sha256 is None
    assert decode_graphic(graphic_for(BCR_JPG), max_bytes=BCR_JPG.stat().st_size).status == STATUS_OK


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20000x20000 pixels (over twice Pillow's default limit) in a few kilobytes on disk."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    Image.new("1", (20_000, 20_000)).save(path, optimize=True)
    assert path.stat().st_size < 200_000
    return path


@pytest.fixture(scope="module")
def medium_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3000x3000 pixels: fine by default, a bomb under a 1-megapixel limit."""
    path = tmp_path_factory.mktemp("medium") / "medium.png"
    Image.new("L", (3_000, 3_000)).save(path)
    return path


def test_pixel_bomb_past_pillows_own_limit(huge_png: Path) -> None:
    assert_rejected(decode_graphic(graphic_for(huge_png)), DECOMPRESSION_BOMB)
    assert_rejected(decode_graphic(graphic_for(huge_png), max_pixels=1_000), DECOMPRESSION_BOMB)


def test_pixel_bomb_past_our_limit_is_refused_before_load(medium_png: Path) -> None:
    out = decode_graphic(graphic_for(medium_png), max_pixels=1_000_000)
    assert_rejected(out, DECOMPRESSION_BOMB)
    assert out.sha256 == hashlib.sha256(medium_png.read_bytes()).hexdigest()
    assert decode_graphic(graphic_for(medium_png)).status == STATUS_OK


def test_pillows_warning_zone_counts_as_a_bomb(tmp_path: Path) -> None:
    """Between Pillow's limit and twice it Pillow only warns; that image is refused all the same,
    and the global limit and the warning filters are left as they were."""
    path = tmp_path / "warn.png"
    Image.new("1", (10_000, 10_000)).save(path)  # 1e8 pixels: over 89,478,485, under twice that
    limit_before, filters_before = Image.MAX_IMAGE_PIXELS, list(warnings.filters)
    with pytest.warns(Image.DecompressionBombWarning):
        out = decode_graphic(graphic_for(path), max_pixels=10**9)
    assert_rejected(out, DECOMPRESSION_BOMB)
    assert limit_before == Image.MAX_IMAGE_PIXELS
    assert list(warnings.filters) == filters_before


def test_identical_pixels_give_identical_phash(tmp_path: Path) -> None:
    copy = tmp_path / "copy.jpg"
    shutil.copyfile(BCR_JPG, copy)
    lossless = tmp_path / "same-pixels.png"
    with Image.open(BCR_JPG) as im:
        im.save(lossless)
    original, copied, png = (decode_graphic(graphic_for(p)) for p in (BCR_JPG, copy, lossless))
    assert original.phash == copied.phash == png.phash
    assert original.sha256 == copied.sha256 != png.sha256
    assert png.format == "PNG"


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [("1", "PNG"), ("L", "PNG"), ("P", "PNG"), ("RGBA", "PNG"), ("I;16", "PNG"), ("CMYK", "JPEG"),
     ("F", "TIFF"), ("RGB", "BMP"), ("RGB", "WEBP")],
)
def test_modes_and_formats_seen_in_the_wild(tmp_path: Path, mode: str, fmt: str) -> None:
    path = tmp_path / f"img.{fmt.lower()}"
    Image.new(mode, (40, 30)).save(path, fmt)
    out = decode_graphic(graphic_for(path))
    assert (out.status, out.format, out.width, out.height) == (STATUS_OK, fmt, 40, 30)


def test_redecoding_clears_stale_fields(tmp_path: Path) -> None:
    decoded = decode_graphic(graphic_for(BCR_JPG))
    moved = decode_graphic(dataclasses.replace(decoded, path=str(tmp_path / "gone.jpg")))
    assert_rejected(moved, MISSING_FILE)
    assert moved.sha256 is None


def test_describe_status_is_one_line_naming_the_file(tmp_path: Path) -> None:
    ok = describe_status(decode_graphic(graphic_for(BCR_JPG)))
    assert ok == f"PMCTEST:f1:g0: {BCR_JPG}: ok (JPEG 600x473 RGB)"
    fake = tmp_path / "odd\nname.jpg"
    fake.write_bytes(b"nope")
    bad = describe_status(decode_graphic(graphic_for(fake)))
    assert "\n" not in bad
    assert bad.startswith("PMCTEST:f1:g0: ") and "name.jpg" in bad and UNDECODABLE_IMAGE in bad
    absent = describe_status(decode_graphic(graphic_for(None, href="CG-F001")))
    assert "'CG-F001'" in absent and MISSING_FILE in absent


def test_decoder_versions_name_what_shapes_the_hash() -> None:
    assert set(decoder_versions()) == {"figure_decoder", "pillow", "imagehash"}
