"""Turn a picture of one handwritten digit into the 28 x 28 image an MNIST model expects.

MNIST was made this way (LeCun, Bottou, Bengio and Haffner, 1998; yann.lecun.com/exdb/mnist):
NIST's black-and-white scans were scaled to fit a 20 x 20 box, keeping their aspect ratio
(anti-aliasing made the edges gray), then placed in a 28 x 28 field so that the centre of
mass of the pixels lies at the field's centre. A network trained on MNIST has seen nothing
else: to it a digit drawn large, off-centre, or dark on white paper is a different kind of
picture. `to_mnist` repeats the construction, step by step:

1. Pixels to [0, 1] (`to_unit`), the rule of fnn.data: integers must lie in 0..255 and are
   divided by 255, floats must lie in [0, 1] and are kept.
2. Gray: RGB becomes its luminance 0.299 R + 0.587 G + 0.114 B (ITU-R 601, as PIL's "L").
   An alpha channel is composited on white (a transparent drawing shown on a page), or on
   black when the ink itself is light, so that strokes on a transparent canvas stay visible.
3. Polarity: MNIST is light ink (1) on black (0). The background is the median of the border
   pixels; the ink is the extreme (darkest or lightest pixel) further from it. Dark ink is
   inverted. For a clean picture this is "invert when the border is lighter than the middle
   gray"; the extremes also decide correctly on gray or shadowed paper.
4. Levels: the background becomes 0 and the strongest ink 1 (MNIST's ink reaches 255 in
   nearly every digit). A blank picture (below) is refused here: PreprocessError.
5. Crop: to the bounding box of the pixels above THRESHOLD (relative to the strongest ink), so
   faint noise (JPEG ringing, paper grain, dust) does not widen it.
6. Scale: the longer side to 20 pixels, the other in proportion, anti-aliased with PIL:
   shrinking averages the area each new pixel covers (BOX: what a coarser scanner would
   record, without ringing; an MNIST digit enlarged 3 times by repeating pixels comes back
   exactly), enlarging interpolates smoothly (LANCZOS). Then the image is stretched again so
   that its brightest pixel is 1 (thin strokes fade when shrunk).
7. Centre: into the 28 x 28 field at the whole-pixel offset that puts the centre of mass
   nearest to (14, 14) (row, column; where MNIST's test digits have theirs: 13.99, 14.01 on
   average), moved inward if needed so that the digit stays whole.

Blank: one rule, `require_ink`, for every input (steps 4 and 5, and the `.npy` used as is
below). Measure the ink from the background (0) to the strongest ink; the picture holds no
digit when the strongest ink is less than MIN_CONTRAST above the background, or when fewer than
MIN_INK pixels lie above THRESHOLD of it. Pixels are counted at the picture's own resolution,
before step 6: scaling blows any speck up to a 20 x 20 digit. Every real MNIST digit has at
least 27 such pixels (all 70,000); an empty canvas, or a few stray pixels, has fewer than 10.

`read_image(path)` reads a PNG or JPEG (any mode) or a `.npy` array and applies `to_mnist`,
with one exception: a `.npy` of shape (28, 28) or (28, 28, 1) is taken to be MNIST-ready
already (light ink on black, centred) and is used AS IS, only scaled to [0, 1] and checked
for blankness, never inverted or re-centred: that is how to feed the network an exact image.
`read_pixels(path)` returns a file's pixels as a viewer shows them: a PNG or JPEG is turned
upright by its EXIF orientation tag (a phone stores a photo as the sensor saw it and tags how
to turn it), refused above MAX_PIXELS (PIL's decompression-bomb warning is not printed: the
refusal is one line), and shrunk, while still integer, by a whole factor (a JPEG as it is
decoded) until its longer side is at most READ_SIDE, so that a large photo costs little
memory; a digit keeps plenty of pixels for the 20 x 20 box. Every error is a one-line
PreprocessError naming the file.
"""

from __future__ import annotations

import errno
import math
import os
import re
import stat
import warnings
from pathlib import Path

import numpy as np

__all__ = [
    "to_mnist",
    "to_unit",
    "read_image",
    "read_pixels",
    "require_ink",
    "PreprocessError",
    "SUFFIXES",
    "THRESHOLD",
    "MIN_CONTRAST",
    "MIN_INK",
    "MAX_PIXELS",
    "READ_SIDE",
]

SUFFIXES = (".png", ".jpg", ".jpeg", ".npy")
THRESHOLD = 0.2  # step 5: a pixel belongs to the digit above this fraction of the strongest ink
MIN_CONTRAST = 0.1  # blank: the strongest ink is less than this above the background
MIN_INK = 10  # blank: fewer pixels than this above THRESHOLD (MNIST's digits have 27 or more)
MAX_PIXELS = 8192 * 8192  # a larger PNG or JPEG is refused before it is decoded
READ_SIDE = 1024  # a larger PNG or JPEG is shrunk by a whole factor until its longer side fits
BOX, FIELD, CENTRE = 20, 28, 14.0  # MNIST: a 20 x 20 box in a 28 x 28 field, centre of mass at 14
LUMINANCE = np.array([0.299, 0.587, 0.114], np.float32)


class PreprocessError(ValueError):
    """An image that cannot be read or holds no digit (one line, naming the file when there is one)."""


def to_unit(image: np.ndarray) -> np.ndarray:
    """Step 1: pixels as float32 in [0, 1]; integers 0..255 are divided by 255, floats kept.

    Raises:
        PreprocessError: another dtype, or a value outside the range of its kind.
    """
    image = np.asarray(image)
    if image.dtype.kind in "ui":
        if image.size and (image.min() < 0 or image.max() > 255):
            raise PreprocessError(f"integer pixels must lie in 0..255, found {image.min()}..{image.max()}")
        return image.astype(np.float32) / np.float32(255)
    if image.dtype.kind == "f":
        if not np.isfinite(image).all():
            raise PreprocessError("pixels must be finite, found NaN or Inf")
        if image.size and (image.min() < 0 or image.max() > 1):
            raise PreprocessError(
                f"float pixels must lie in [0, 1] (divide 0..255 values by 255), found {image.min():g}..{image.max():g}"
            )
        return image.astype(np.float32)
    raise PreprocessError(f"pixels must be integers 0..255 or floats in [0, 1], got dtype {image.dtype}")


def _gray(image: np.ndarray) -> np.ndarray:
    """Step 2: (H, W) luminance of a (H, W), (H, W, 1), gray+alpha, RGB or RGBA image."""
    if image.ndim == 2:
        return image
    if image.ndim != 3 or image.shape[-1] not in (1, 2, 3, 4):
        raise PreprocessError(
            f"expected a (H, W) gray or (H, W, C) image with C in 1..4 channels, got shape {image.shape}"
        )
    channels = image.shape[-1]
    gray = image[..., :3] @ LUMINANCE if channels >= 3 else image[..., 0]
    if channels in (2, 4):
        alpha = image[..., -1]
        light_ink = (gray * alpha).sum() > 0.5 * alpha.sum()
        gray = gray * alpha + (0.0 if light_ink else 1.0) * (1 - alpha)
    return gray


def _border(gray: np.ndarray) -> np.ndarray:
    """The pixels of the outermost rows and columns."""
    return np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])


def require_ink(ink: np.ndarray) -> None:
    """The one rule for "blank" (module docstring): refuse `ink` that holds no digit.

    Args:
        ink: (H, W) light ink above a background of 0, at the picture's own resolution
            (before any scaling); values below 0 are background too.
    Raises:
        PreprocessError: the strongest ink is less than MIN_CONTRAST, or fewer than MIN_INK
            pixels lie above THRESHOLD of it.
    """
    contrast = float(ink.max()) if ink.size else 0.0
    if contrast < MIN_CONTRAST:
        raise PreprocessError(
            f"no digit found: every pixel is within {max(contrast, 0):.3f} of the background "
            f"(needs {MIN_CONTRAST}); is the image blank?"
        )
    count = int((ink > THRESHOLD * contrast).sum())
    if count < MIN_INK:
        raise PreprocessError(
            f"no digit found: {count} of {ink.size} pixels hold ink (needs {MIN_INK}); is the image blank?"
        )


def _light_ink_on_black(gray: np.ndarray) -> np.ndarray:
    """Steps 3 and 4: the ink as 0..1 above a background of 0; a blank picture refused."""
    background = float(np.median(_border(gray)))
    if background - gray.min() > gray.max() - background:  # (3) dark ink: invert
        gray, background = 1 - gray, 1 - background
    ink = gray - background
    require_ink(ink)
    return np.clip(ink / float(ink.max()), 0, 1)  # (4)


def _crop(ink: np.ndarray) -> np.ndarray:
    """Step 5: the bounding box of the pixels above THRESHOLD (ink's maximum is 1)."""
    rows = np.flatnonzero((ink > THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink > THRESHOLD).any(axis=0))
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _fit_box(ink: np.ndarray) -> np.ndarray:
    """Step 6: scaled so that its longer side is BOX pixels, anti-aliased; brightest pixel 1."""
    from PIL import Image  # Pillow comes with matplotlib; only reading and scaling need it

    H_in, W_in = ink.shape
    scale = BOX / max(H_in, W_in)
    H_out, W_out = max(1, round(H_in * scale)), max(1, round(W_in * scale))
    resample = Image.Resampling.BOX if scale <= 1 else Image.Resampling.LANCZOS
    resized = Image.fromarray(ink.astype(np.float32)).resize((W_out, H_out), resample)
    box = np.clip(np.asarray(resized, np.float32), 0, 1)  # NOTE: LANCZOS rings below 0 and above 1
    return box / box.max()


def _centre(box: np.ndarray) -> np.ndarray:
    """Step 7: `box` in a FIELD x FIELD image, its centre of mass nearest to (CENTRE, CENTRE)."""
    H_box, W_box = box.shape
    rows, cols = np.indices(box.shape)
    mass = box.sum()
    com_row, com_col = (rows * box).sum() / mass, (cols * box).sum() / mass
    top = min(max(int(np.floor(CENTRE - com_row + 0.5)), 0), FIELD - H_box)  # whole pixels, digit whole
    left = min(max(int(np.floor(CENTRE - com_col + 0.5)), 0), FIELD - W_box)
    field = np.zeros((FIELD, FIELD, 1), np.float32)
    field[top : top + H_box, left : left + W_box, 0] = box
    return field


def to_mnist(image: np.ndarray) -> np.ndarray:
    """A picture of one digit as MNIST would have made it (the module docstring's steps 1-7).

    Args:
        image: (H, W) gray, or (H, W, C) with C = 1 (gray), 2 (gray, alpha), 3 (RGB) or
            4 (RGBA); uint8 0..255 or float in [0, 1]; any size, either polarity.
    Returns:
        (28, 28, 1) float32 in [0, 1]: light ink on black, the digit within 20 x 20,
        its centre of mass at (14, 14) to the nearest pixel.
    Raises:
        PreprocessError (a ValueError): an unusable shape, dtype or value, or no digit found.
    """
    gray = _gray(to_unit(image))
    if gray.size == 0:
        raise PreprocessError(f"the image is empty (shape {np.shape(image)})")
    return _centre(_fit_box(_crop(_light_ink_on_black(gray))))


def _too_large(path: Path, size: str) -> PreprocessError:
    """The one-line refusal of a picture of `size` (words) above MAX_PIXELS."""
    side = math.isqrt(MAX_PIXELS)
    return PreprocessError(
        f"{path}: too large: {size}, more than the limit of {MAX_PIXELS:,} ({side} x {side}); "
        "shrink the picture first"
    )


def _open_within_limit(path: Path):
    """PIL's Image of `path`, not yet decoded; a PreprocessError above MAX_PIXELS."""
    from PIL import Image

    try:
        img = Image.open(path)
    except Image.DecompressionBombError as e:  # over twice PIL's own limit: PIL refuses to open it
        found = re.search(r"\((\d+) pixels\)", str(e))
        raise _too_large(
            path, f"{int(found[1]):,} pixels" if found else "more pixels than PIL allows"
        ) from None
    W_in, H_in = img.size
    if W_in * H_in > MAX_PIXELS:
        img.close()
        raise _too_large(path, f"{W_in} x {H_in} = {W_in * H_in:,} pixels")
    return img


def _shrink_factor(size: tuple[int, int]) -> int:
    """The smallest whole factor that brings the longer side of `size` to READ_SIDE or less."""
    return max(1, math.ceil(max(size) / READ_SIDE))


def _read_pil(path: Path) -> np.ndarray:
    """A PNG or JPEG upright, at most READ_SIDE a side (module docstring), as uint8 (H, W) gray,
    (H, W, 3) RGB or (H, W, 4) RGBA; 16-bit gray as float32 in [0, 1]."""
    from PIL import Image, ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused in one line instead
        with _open_within_limit(path) as img:
            factor = _shrink_factor(img.size)
            if factor > 1 and img.format == "JPEG":  # decoded at 1/2, 1/4 or 1/8 of its size: cheap
                img.draft(None, (math.ceil(img.width / factor), math.ceil(img.height / factor)))
            img.load()
            ImageOps.exif_transpose(img, in_place=True)  # as a viewer shows it (a phone's photo)
            if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
                mode = "RGBA"
            elif img.mode.startswith("I"):  # 16-bit gray PNG (PIL would clip it to 8 bits)
                mode = "I"
            else:
                mode = "L" if img.mode in ("1", "L") else "RGB"
            read = img if img.mode == mode else img.convert(mode)
            factor = _shrink_factor(read.size)
            if factor > 1:  # NOTE: the mean of each factor x factor block, still integer: no float copy
                read = read.reduce(factor)
            if mode == "I":
                return np.asarray(read, np.float32) / np.float32(65535)
            return np.asarray(read)


def _require_file(path: Path) -> None:
    """A PreprocessError that says what `path` is, unless it is a file (or a link to one)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise PreprocessError(f"{path}: is a symbolic link loop, not an image") from None
        if e.errno not in (errno.ENOENT, errno.ENOTDIR):
            raise PreprocessError(f"{path}: cannot be read ({e.strerror})") from None
        if os.path.islink(path):
            raise PreprocessError(
                f"{path}: is a symbolic link to {os.readlink(path)}, which does not exist"
            ) from None
        raise PreprocessError(f"{path}: no such file") from None
    if stat.S_ISDIR(mode):
        raise PreprocessError(f"{path}: is a folder, not an image")
    if not stat.S_ISREG(mode):
        raise PreprocessError(f"{path}: is not a regular file (a pipe, socket or device), not an image")


def read_pixels(path: str | os.PathLike) -> np.ndarray:
    """A file's pixels: a PNG or JPEG via PIL (any mode) as a viewer shows it, a `.npy` as stored.

    A PNG or JPEG is turned upright by its EXIF orientation and, if its longer side exceeds
    READ_SIDE, shrunk by a whole factor (the mean of each block of pixels).

    Raises:
        PreprocessError: a missing, unreadable or not regular file, a PNG or JPEG of more than
            MAX_PIXELS pixels, or a suffix other than SUFFIXES.
    """
    from PIL import Image

    path = Path(path)
    _require_file(path)  # first: a folder named "digits" is a folder, not a file type
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise PreprocessError(
            f"{path}: unsupported file type {suffix or '(none)'!r}; use {', '.join(SUFFIXES)}"
        )
    try:
        return np.load(path, allow_pickle=False) if suffix == ".npy" else _read_pil(path)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        if isinstance(e, PreprocessError):
            raise
        kind = "a .npy array" if suffix == ".npy" else "an image"
        raise PreprocessError(f"{path}: not readable as {kind} ({type(e).__name__}: {e})") from None


def read_image(path: str | os.PathLike) -> np.ndarray:
    """The (28, 28, 1) float32 image in [0, 1] that the network should see for the file `path`.

    A `.npy` of shape (28, 28) or (28, 28, 1) is used as it is (only scaled to [0, 1], and
    refused if blank: `require_ink`); every other image goes through `to_mnist`.

    Raises:
        PreprocessError: as read_pixels and to_mnist, the message starting with the file name.
    """
    pixels = read_pixels(path)
    try:
        if Path(path).suffix.lower() == ".npy" and pixels.shape in ((28, 28), (28, 28, 1)):
            image = to_unit(pixels).reshape(FIELD, FIELD, 1)
            require_ink(image[..., 0])
            return image
        return to_mnist(pixels)
    except PreprocessError as e:
        raise PreprocessError(f"{path}: {e}") from None
