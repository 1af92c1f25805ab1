"""Figure files: cheap procedural pictures that look like the kind of image a caption names.

Each panel is a smooth random field (a few dozen random values upsampled bilinearly) shaped by the
figure's style — an elliptical body section in grey for MRI/CT, a pink texture with nuclei for
histology, a reddish vignette for endoscopy, line traces on a grid for EEG/ECG, a skin-toned patch
for a clinical photograph — with a few bright or dark blobs and the panel letter. Distinct random
fields give distinct perceptual hashes, so near-duplicate detection sees every figure as its own.

Speed matters more than realism (N=2000 cases write in well under a minute per core): everything is
numpy arrays and a handful of Pillow draw calls, no per-pixel Python loops. Output is byte-stable:
the generator is seeded from (seed, case, figure), JPEG quality/subsampling are fixed and nothing
writes metadata or timestamps.
"""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mmrare.synth.document import FigurePlan

JPEG_QUALITY = 85
PNG_COMPRESS_LEVEL = 1  # fast; file size does not matter for load tests
PANEL_GAP = 6
_NOISE_SEED = 20240901  # the grain tile: fixed, so every process draws the same one
GREY_STYLES = frozenset({"mri", "ct", "xray", "angio", "ultrasound", "scintigraphy", "pet"})


def render_figure(plan: FigurePlan, seed: int, index: int) -> bytes:
    """The encoded image file (JPEG or PNG) for one figure."""
    rng = np.random.default_rng([seed, index, plan.number])
    letters = plan.panels or ("",)
    n = len(letters)
    panel_w = (plan.width - PANEL_GAP * (n - 1)) // n
    mode = "L" if plan.style in GREY_STYLES or plan.style == "trace" else "RGB"
    canvas = Image.new(mode, (plan.width, plan.height), 255 if mode == "L" else (255, 255, 255))
    for i, letter in enumerate(letters):
        panel = _panel(plan.style, panel_w, plan.height, rng)
        if panel.mode != mode:
            panel = panel.convert(mode)
        if letter:
            _letter(panel, letter)
        canvas.paste(panel, (i * (panel_w + PANEL_GAP), 0))
    out = io.BytesIO()
    if plan.image_format == "PNG":
        canvas.save(out, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    else:
        canvas.save(out, "JPEG", quality=JPEG_QUALITY, subsampling=2, optimize=False, progressive=False)
    return out.getvalue()


def _field(w: int, h: int, rng: np.random.Generator, cell: int = 48) -> np.ndarray:
    """A smooth random field in [0, 1], shape (h, w)."""
    small = rng.random((max(2, h // cell + 2), max(2, w // cell + 2)))
    img = Image.fromarray((small * 255).astype(np.uint8), "L").resize((w, h), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.float32) / 255.0


def _ellipse_mask(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.ogrid[:h, :w]
    cx, cy = w * rng.uniform(0.42, 0.58), h * rng.uniform(0.42, 0.58)
    rx, ry = w * rng.uniform(0.30, 0.46), h * rng.uniform(0.30, 0.46)
    return ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0


def _blobs(
    draw: ImageDraw.ImageDraw,
    w: int,
    h: int,
    rng: np.random.Generator,
    fill: int | tuple[int, ...],
    count: int,
    size: float = 0.12,
) -> None:
    for _ in range(count):
        x, y = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        r = rng.uniform(0.03, size) * min(w, h)
        draw.ellipse((x - r, y - r * rng.uniform(0.6, 1.4), x + r, y + r), fill=fill)


@functools.cache
def _noise_tile() -> np.ndarray:
    """Unit Gaussian noise, 1024 x 1024, drawn once per process; panels use a random crop of it
    (drawing fresh noise per pixel was a third of the generator's time)."""
    return np.random.default_rng(_NOISE_SEED).standard_normal((1024, 1024), dtype=np.float32)


def _grain(arr: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    h, w = arr.shape[:2]
    tile = _noise_tile()
    reps = (-(-h // tile.shape[0]), -(-w // tile.shape[1]))
    if reps != (1, 1):
        tile = np.tile(tile, reps)
    oy = int(rng.integers(0, tile.shape[0] - h + 1))
    ox = int(rng.integers(0, tile.shape[1] - w + 1))
    noise = tile[oy : oy + h, ox : ox + w] * sigma
    return arr + (noise[..., None] if arr.ndim == 3 else noise)


def _to_image(arr: np.ndarray, mode: str) -> Image.Image:
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode)


def _panel(style: str, w: int, h: int, rng: np.random.Generator) -> Image.Image:
    return _STYLES.get(style, _radiology)(w, h, rng, style)


def _radiology(w: int, h: int, rng: np.random.Generator, style: str) -> Image.Image:
    """MRI / CT / radiograph / angiography / PET: a grey body section on black, with lesions."""
    field = _field(w, h, rng, cell=int(rng.integers(24, 72)))
    mask = _ellipse_mask(w, h, rng)
    base = np.where(mask, 70 + 130 * field, 8 + 10 * field)
    if style == "xray":
        base = 255 - base
    img = _to_image(_grain(base, rng, 5.0), "L")
    draw = ImageDraw.Draw(img)
    _blobs(draw, w, h, rng, int(rng.integers(200, 256)), int(rng.integers(1, 4)))
    if style == "angio":
        for _ in range(int(rng.integers(3, 7))):
            pts = [
                (float(x), float(y))
                for x, y in zip(np.linspace(0.1, 0.9, 6) * w, rng.uniform(0.2, 0.8, 6) * h, strict=True)
            ]
            draw.line(pts, fill=235, width=int(rng.integers(2, 5)))
    return img


def _ultrasound(w: int, h: int, rng: np.random.Generator, style: str) -> Image.Image:
    """A fan-shaped sector of speckle."""
    yy, xx = np.ogrid[:h, :w]
    angle = np.arctan2(xx - w / 2, yy + h * 0.05)
    radius = np.hypot(xx - w / 2, yy + h * 0.05)
    sector = (np.abs(angle) < 0.6) & (radius < h * 1.0)
    speckle = rng.random((h, w)).astype(np.float32) * 90
    base = np.where(sector, 40 + 110 * _field(w, h, rng) + speckle, 0)
    img = _to_image(base, "L")
    _blobs(ImageDraw.Draw(img), w, h, rng, 10, int(rng.integers(1, 3)), size=0.08)
    return img


def _scintigraphy(w: int, h: int, rng: np.random.Generator, style: str) -> Image.Image:
    """Dark uptake spots on white, in a body-shaped outline."""
    mask = _ellipse_mask(w, h, rng)
    base = np.where(mask, 230 - 80 * _field(w, h, rng, cell=32), 255)
    img = _to_image(base, "L")
    _blobs(ImageDraw.Draw(img), w, h, rng, 20, int(rng.integers(2, 6)), size=0.06)
    return img


def _histology(w: int, h: int, rng: np.random.Generator, style: str) -> Image.Image:
    """H&E-like: pink stroma, purple nuclei."""
    f1, f2 = _field(w, h, rng, cell=20), _field(w, h, rng, cell=36)
    rgb = np.stack([215 + 35 * f1, 120 + 70 * f2, 170 + 50 * f1], axis=-1)
    img = _to_image(_grain(rgb, rng, 6.0), "RGB")
    draw = ImageDraw.Draw(img)
    n = int(w * h / 900)
    xs, ys = rng.uniform(0, w, n), rng.uniform(0, h, n)
    rs = rng.uniform(2.0, 5.0, n)
    for x, y, r in zip(xs.tolist(), ys.tolist(), rs.tolist(), strict=True):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(90, 40, 130))
    return img


def _endoscopy(w: int, h: int, rng: np.random.Generator, style: str) -> Image.Image:
    """A reddish lumen in a round vignette."""
    f = _field(w, h, rng, cell=40)
    yy, xx = np.ogrid[:h, :w]
    vignette = np.clip(1.2 - np.hypot((xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2)), 0, 1)
    rgb = np.stack([200 * vignette + 50 * f, 90 * vignette + 40 * f, 80 * vignette + 20 * f], axis=-1)
    img = _to_image(rgb, "RGB")
    _blobs(ImageDraw.Draw(img), w, h, rng, (60, 10, 15), int(rng.integers(1, 3)), size=0.15)
    return img


def _trace(w: int, h: int, rng: np.random.Generator, style: str) -> Image.Image:
    """EEG/ECG-like traces on a grid."""
    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    step = int(rng.integers(16, 32))
    for x in range(0, w, step):
        draw.line((x, 0, x, h), fill=225)
    for y in range(0, h, step):
        draw.line((0, y, w, y), fill=225)
    channels = int(rng.integers(3, 8))
    xs = np.arange(0, w, 3, dtype=np.float32)
    for c in range(channels):
        y0 = (c + 1) * h / (channels + 1)
        freq, amp = rng.uniform(0.02, 0.15), rng.uniform(0.15, 0.45) * h / (channels + 1)
        ys = y0 + amp * np.sin(xs * freq + rng.uniform(0, 6.3)) + rng.normal(0, amp * 0.25, xs.shape)
        draw.line(list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=20, width=1)
    return img


def _photo(w: int, h: int, rng: np.random.Generator, style: str) -> Image.Image:
    """A skin-toned surface with a lesion."""
    f = _field(w, h, rng, cell=60)
    tone = rng.uniform(0.55, 1.0)
    rgb = np.stack([(200 + 40 * f) * tone, (150 + 40 * f) * tone, (120 + 40 * f) * tone], axis=-1)
    img = _to_image(_grain(rgb, rng, 3.0), "RGB")
    _blobs(
        ImageDraw.Draw(img),
        w,
        h,
        rng,
        (int(120 * tone), int(60 * tone), int(50 * tone)),
        int(rng.integers(1, 4)),
        size=0.18,
    )
    return img


def _fundus(w: int, h: int, rng: np.random.Generator, style: str) -> Image.Image:
    """An orange disc with vessels."""
    img = _endoscopy(w, h, rng, style)
    draw = ImageDraw.Draw(img)
    cx, cy = w * rng.uniform(0.35, 0.65), h * rng.uniform(0.35, 0.65)
    for _ in range(int(rng.integers(4, 8))):
        angle = rng.uniform(0, 6.3)
        draw.line(
            (cx, cy, cx + np.cos(angle) * w * 0.45, cy + np.sin(angle) * h * 0.45),
            fill=(120, 20, 20),
            width=3,
        )
    return img


_STYLES = {
    "mri": _radiology,
    "ct": _radiology,
    "xray": _radiology,
    "angio": _radiology,
    "pet": _radiology,
    "ultrasound": _ultrasound,
    "scintigraphy": _scintigraphy,
    "histology": _histology,
    "endoscopy": _endoscopy,
    "trace": _trace,
    "photo": _photo,
    "fundus": _fundus,
}


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (OSError, TypeError, ImportError):  # Pillow without FreeType: the bitmap font
        return ImageFont.load_default()


def _letter(panel: Image.Image, letter: str) -> None:
    """The panel letter, top left, on a contrasting box."""
    size = max(14, panel.height // 12)
    draw = ImageDraw.Draw(panel)
    box = (4, 4, 8 + size, 8 + size + size // 4)
    dark = 0 if panel.mode == "L" else (0, 0, 0)
    light = 255 if panel.mode == "L" else (255, 255, 255)
    draw.rectangle(box, fill=light)
    draw.text((7, 5), letter, fill=dark, font=_font(size))
