"""Figure decoding: turn a ``Graphic`` that points at a file into one that says what the file is.

Every figure file is untrusted input, so decoding never raises for a bad file: it returns a new
``Graphic`` whose ``status`` is ``"ok"`` or a reject reason code, and the caller stores the reject.
The file is read once into memory (bounded by ``max_bytes``) and both the sha256 and the decode use
those same bytes, so the hash always describes exactly what was decoded.

Pillow's decompression-bomb guard is applied per call without touching process-wide state: the
image size is checked right after ``Image.open`` (which reads only the header) and before
``load()``, against ``min(max_pixels, Image.MAX_IMAGE_PIXELS)``. Pillow's own guard still runs
inside ``Image.open``; an image it would only *warn* about is therefore rejected here too ("warning
treated as error") without mutating ``warnings`` filters, which are global to all threads.

``ImageFile.LOAD_TRUNCATED_IMAGES`` must stay ``False`` (Pillow's default) for truncated files to be
detected; this module never changes it.

The perceptual hash is ``imagehash.phash``'s algorithm on the decoded first frame (computed by
:func:`phash`), so it depends on the Pillow and imagehash versions: bump ``FIGURE_DECODER_VERSION``
when either changes the hash. Two shortcuts make it cheaper than ``imagehash.phash`` of the full
image, and both only change how the 32x32 grey thumbnail it looks at is made:

- A JPEG is decoded in Pillow's draft mode (grey, DCT-scaled to at least ``PHASH_DRAFT_SIZE``):
  libjpeg still reads every byte, so a truncated file is still rejected, but it skips most of the
  inverse DCT, which made the decode three times cheaper.
- The thumbnail is resized with ``reducing_gap`` (``PHASH_REDUCING_GAP``, Pillow's thumbnail
  default): a box reduction by a whole factor first, then Lanczos over at least twice the target
  size, instead of Lanczos over every pixel, which was most of the hash's cost.

On the 7,899 shared and synthetic figures the hash equals ``imagehash.phash`` of the same decoded
frame for 77% of them and differs in at most 8 of 64 bits, and the pairs within
``image_max_hamming`` (4) of each other are the same 196 pairs either way.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

import imagehash
import numpy
import PIL
import scipy.fftpack
from PIL import Image

from mmrare.errors import RecordError
from mmrare.records import Graphic
from mmrare.versions import FIGURE_DECODER_VERSION

DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's default Image.MAX_IMAGE_PIXELS
DEFAULT_MAX_BYTES = 50 * 1024**2
PHASH_DRAFT_SIZE = (128, 128)
PHASH_REDUCING_GAP = 2.0
_PHASH_BITS = 8  # imagehash.phash's hash_size: an 8x8 block of DCT coefficients, 64 bits
_PHASH_PIXELS = 32  # hash_size * highfreq_factor (4): the grey thumbnail the DCT runs on

# Raster formats PMC OA packages ship. Restricting Image.open keeps untrusted files away from
# plugins that shell out (EPS runs Ghostscript) or that few people audit.
ALLOWED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "GIF", "TIFF", "BMP", "WEBP")

STATUS_OK = "ok"
MISSING_FILE = "missing_file"
UNREADABLE_FILE = "unreadable_file"
FILE_TOO_LARGE = "file_too_large"
UNDECODABLE_IMAGE = "undecodable_image"
DECOMPRESSION_BOMB = "decompression_bomb"

_EXPLANATIONS: dict[str, str] = {
    MISSING_FILE: "no figure file on disk for this graphic",
    UNREADABLE_FILE: "the path exists but is not a readable regular file",
    FILE_TOO_LARGE: "the file is larger than the configured byte limit",
    UNDECODABLE_IMAGE: "Pillow could not identify or fully decode it (truncated, corrupt or not an image)",
    DECOMPRESSION_BOMB: "its pixel count exceeds the configured limit (possible decompression bomb)",
    "unchecked": "not decoded yet",
}

# What Pillow's decoders raise on malformed input (it wraps most in OSError, but not all).
_DECODE_ERRORS: tuple[type[Exception], ...] = (
    OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, struct.error,
)


@dataclass(frozen=True, slots=True)
class _Decoded:
    """What a successful decode found."""

    format: str
    mode: str
    width: int
    height: int
    phash: str


def decode_graphic(
    graphic: Graphic, max_pixels: int = DEFAULT_MAX_PIXELS, max_bytes: int = DEFAULT_MAX_BYTES
) -> Graphic:
    """Decode ``graphic.path`` fully and return a copy with hashes, format, size, mode and status.

    Never raises for a bad file: missing, unreadable, oversized, undecodable or bomb-like files give
    a copy whose ``status`` is the reason code and whose image fields are ``None``. ``sha256`` is
    set whenever the bytes were read, so a rejected file can still be identified.
    """
    if graphic.path is None:
        return _rejected(graphic, MISSING_FILE, sha256=None)
    try:
        data = _read_bounded(Path(graphic.path), max_bytes, graphic.graphic_id)
    except RecordError as exc:
        return _rejected(graphic, exc.reason, sha256=None, problem=exc.detail)
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        decoded = _decode(data, _pixel_limit(max_pixels), graphic.graphic_id)
    except RecordError as exc:
        return _rejected(graphic, exc.reason, sha256=sha256, problem=exc.detail)
    return dataclasses.replace(
        graphic,
        sha256=sha256,
        phash=decoded.phash,
        format=decoded.format,
        width=decoded.width,
        height=decoded.height,
        mode=decoded.mode,
        status=STATUS_OK,
    )


def describe_status(graphic: Graphic) -> str:
    """One line for logs and the rejects table: which graphic, which file, what happened."""
    where = graphic.path if graphic.path is not None else f"href {graphic.href!r} (no file)"
    if graphic.status == STATUS_OK:
        text = (
            f"{graphic.graphic_id}: {where}: ok "
            f"({graphic.format} {graphic.width}x{graphic.height} {graphic.mode})"
        )
    else:
        why = _EXPLANATIONS.get(graphic.status, "rejected")
        text = f"{graphic.graphic_id}: {where}: {graphic.status}: {why}"
    return text.replace("\r", " ").replace("\n", " ")


def decoder_versions() -> dict[str, str]:
    """Versions that determine the decoder's output, for the provenance of stored decisions."""
    return {
        "figure_decoder": FIGURE_DECODER_VERSION,
        "pillow": PIL.__version__,
        "imagehash": imagehash.__version__,
    }


def _pixel_limit(max_pixels: int) -> int:
    """The effective limit: ours, or Pillow's process-wide one if that is stricter (warning = error)."""
    pillow_limit = Image.MAX_IMAGE_PIXELS
    return max_pixels if pillow_limit is None else min(max_pixels, int(pillow_limit))


def _read_bounded(path: Path, max_bytes: int, record_id: str) -> bytes:
    """Read the whole file, refusing before reading when it is larger than ``max_bytes``.

    The size is checked twice (stat, then the read itself) because the file may grow in between.
    """
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise RecordError(record_id, MISSING_FILE, str(path)) from exc
    except OSError as exc:
        raise RecordError(record_id, UNREADABLE_FILE, f"{path}: {exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise RecordError(record_id, UNREADABLE_FILE, f"{path} is not a regular file")
    if info.st_size > max_bytes:
        raise RecordError(record_id, FILE_TOO_LARGE, f"{info.st_size} > {max_bytes} bytes")
    try:
        with path.open("rb") as fh:
            # what stat promised plus one byte, and on to the limit only if the file grew since: a
            # read of max_bytes + 1 maps (and unmaps) a buffer of that size for every figure
            data = fh.read(info.st_size + 1)
            if len(data) > info.st_size:
                data += fh.read(max_bytes + 1 - len(data))
    except OSError as exc:
        raise RecordError(record_id, UNREADABLE_FILE, f"{path}: {exc}") from exc
    if len(data) > max_bytes:
        raise RecordError(record_id, FILE_TOO_LARGE, f"more than {max_bytes} bytes")
    return data


def _decode(data: bytes, pixel_limit: int, record_id: str) -> _Decoded:
    """Identify, size-check, decode every byte of and perceptually hash the image in ``data``.

    The image is opened in a context manager so its pixel buffer is released as soon as the hash
    is computed; only the small ``_Decoded`` summary survives.
    """
    try:
        with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as im:
            width, height = im.size
            if max(1, width) * max(1, height) > pixel_limit:
                raise RecordError(record_id, DECOMPRESSION_BOMB, f"{width}x{height} > {pixel_limit} pixels")
            mode = im.mode
            if im.format == "JPEG":
                im.draft("L", PHASH_DRAFT_SIZE)
            im.load()
            return _Decoded(
                format=str(im.format),
                mode=mode,
                width=width,
                height=height,
                phash=phash(im, reducing_gap=PHASH_REDUCING_GAP),
            )
    except Image.DecompressionBombError as exc:
        raise RecordError(record_id, DECOMPRESSION_BOMB, str(exc)) from exc
    except _DECODE_ERRORS as exc:
        raise RecordError(record_id, UNDECODABLE_IMAGE, f"{type(exc).__name__}: {exc}") from exc


def phash(image: Image.Image, reducing_gap: float | None = None) -> str:
    """``str(imagehash.phash(image))``, bit for bit without ``reducing_gap``, with less Python around
    the same numeric steps; with it, the same steps on a thumbnail made by Pillow's reducing resize.

    The same grey conversion, 32x32 Lanczos resize and 2-D DCT as imagehash 4.3; the median of the
    64 low-frequency coefficients is the mean of the middle two of them sorted (what ``numpy.median``
    computes for an even count), and the 64 bits are written as hex from their bytes rather than via
    a string of "0"/"1" and ``int(..., 2)``: a third of the hash's cost once the pixels are small.
    """
    grey = image.convert("L")
    small = grey.resize((_PHASH_PIXELS, _PHASH_PIXELS), Image.Resampling.LANCZOS, reducing_gap=reducing_gap)
    dct = scipy.fftpack.dct(scipy.fftpack.dct(numpy.asarray(small), axis=0), axis=1)
    low = dct[:_PHASH_BITS, :_PHASH_BITS]
    ordered = numpy.sort(low, axis=None)
    middle = ordered.size // 2
    median = (ordered[middle - 1] + ordered[middle]) / 2
    return numpy.packbits(low > median).tobytes().hex()


def _rejected(graphic: Graphic, reason: str, sha256: str | None, problem: str = "") -> Graphic:
    """A copy carrying the reject reason and the decoder's message, with every decoded field
    cleared (no stale values)."""
    return dataclasses.replace(
        graphic, sha256=sha256, phash=None, format=None, width=None, height=None, mode=None, status=reason,
        problem=problem,
    )  # fmt: skip
