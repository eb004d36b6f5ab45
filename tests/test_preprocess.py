"""fnn.preprocess: any picture of a digit -> MNIST's 28 x 28 construction; reading files."""

import os
import tracemalloc
import warnings

import numpy as np
import pytest
from PIL import ExifTags, Image

from fnn import preprocess
from fnn.preprocess import PreprocessError, read_image, read_pixels, require_ink, to_mnist


def seven(height=90, width=60, thickness=12) -> np.ndarray:
    """A '7' as float ink (1) on black (0): a top bar and a diagonal. Its centre of mass is
    up and to the right of its bounding box's centre, so centring by mass is visible."""
    ink = np.zeros((height, width), np.float32)
    ink[:thickness] = 1
    for row in range(thickness, height):
        col = int((width - thickness) * (1 - row / height))
        ink[row, col : col + thickness] = 1
    return ink


def canvas(ink: np.ndarray, top=30, left=80, size=(200, 150)) -> np.ndarray:
    """`ink` pasted off-centre into a black canvas of `size` (rows, columns)."""
    image = np.zeros(size, np.float32)
    image[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
    return image


def as_stored(gray: np.ndarray, dark_on_light: bool, rgb: bool, dtype) -> np.ndarray:
    """`gray` (light ink on black, [0, 1]) as a file might hold it."""
    image = 1 - gray if dark_on_light else gray
    if rgb:
        image = np.repeat(image[..., None], 3, axis=-1)
    return np.round(image * 255).astype(np.uint8) if dtype == np.uint8 else image.astype(dtype)


def bounding_box(image: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero((image[..., 0] > 0).any(axis=1))
    cols = np.flatnonzero((image[..., 0] > 0).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def centre_of_mass(image: np.ndarray) -> np.ndarray:
    rows, cols = np.indices(image.shape[:2])
    x = image[..., 0]
    return np.array([(rows * x).sum(), (cols * x).sum()]) / x.sum()


@pytest.mark.parametrize("dark_on_light", [False, True], ids=["light-on-dark", "dark-on-light"])
@pytest.mark.parametrize("rgb", [False, True], ids=["gray", "rgb"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32], ids=["uint8", "float"])
def test_an_off_centre_digit_becomes_mnist_like(dark_on_light, rgb, dtype):
    image = as_stored(canvas(seven()), dark_on_light, rgb, dtype)
    out = to_mnist(image)
    assert out.shape == (28, 28, 1) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() == pytest.approx(1)
    assert max(bounding_box(out)) == 20 and min(bounding_box(out)) <= 20  # 90 x 60 -> 20 x 13
    assert np.abs(centre_of_mass(out) - 14).max() <= 1
    assert out[0].max() == out[-1].max() == out[:, 0].max() == out[:, -1].max() == 0  # a black frame


def test_polarity_colour_and_dtype_do_not_change_the_result():
    gray = canvas(seven())
    reference = to_mnist(gray)
    for dark_on_light in (False, True):
        for rgb in (False, True):
            for dtype in (np.float32, np.uint8):
                out = to_mnist(as_stored(gray, dark_on_light, rgb, dtype))
                np.testing.assert_allclose(out, reference, atol=0.02)  # uint8: 1/255 steps


def test_the_centre_of_mass_not_the_box_is_centred():
    out = to_mnist(canvas(seven()))
    rows = np.flatnonzero(out[..., 0].any(axis=1))
    cols = np.flatnonzero(out[..., 0].any(axis=0))
    box_centre = np.array([rows[0] + rows[-1], cols[0] + cols[-1]]) / 2
    assert np.abs(centre_of_mass(out) - 14).max() <= 0.5
    assert np.abs(box_centre - 14).max() >= 1  # the 7's mass is off its box's centre


def test_a_small_digit_is_enlarged_to_the_box():
    out = to_mnist(canvas(seven(10, 7, 2), top=3, left=5, size=(40, 40)))
    assert max(bounding_box(out)) == 20
    assert np.abs(centre_of_mass(out) - 14).max() <= 1


def test_thin_strokes_are_stretched_to_full_ink():
    out = to_mnist(canvas(seven(180, 120, 3), top=10, left=10))  # 9x shrunk: strokes of 1/3 pixel
    assert out.max() == pytest.approx(1)
    assert max(bounding_box(out)) == 20


def test_gray_paper_noise_and_specks_are_ignored():
    rng = np.random.default_rng(0)
    clean = to_mnist(1 - canvas(seven()))  # dark on white
    paper = 0.65 - 0.5 * canvas(seven()) + rng.uniform(-0.03, 0.03, (200, 150))  # gray ink on gray paper
    paper[180, 10] = 0.55  # a faint speck far from the digit (0.1 of the ink's contrast)
    out = to_mnist(np.clip(paper, 0, 1))
    assert bounding_box(out) == bounding_box(clean)
    assert np.abs(centre_of_mass(out) - centre_of_mass(clean)).max() < 0.5
    np.testing.assert_allclose(out, clean, atol=0.15)


def test_alpha_is_composited_so_the_strokes_stay_visible():
    reference = to_mnist(canvas(seven()))
    alpha = canvas(seven())
    for ink in (0.0, 1.0):  # dark and light strokes on a transparent canvas
        rgba = np.dstack([np.full((200, 150, 3), ink, np.float32), alpha])
        np.testing.assert_allclose(to_mnist(rgba), reference, atol=1e-5)


@pytest.mark.parametrize("level", [0.0, 0.5, 1.0])
def test_a_blank_image_has_no_digit(level):
    noise = np.random.default_rng(0).uniform(-0.02, 0.02, (50, 40))
    with pytest.raises(ValueError, match="no digit found"):
        to_mnist(np.clip(level + noise, 0, 1))


@pytest.mark.parametrize(
    "image, match",
    [
        (np.zeros((5, 5, 5)), "channels"),
        (np.zeros((2, 5, 5, 3)), "channels"),
        (np.full((5, 5), 300), "0..255"),
        (np.full((5, 5), 2.0), r"\[0, 1\]"),
        (np.full((5, 5), np.nan), "finite"),
        (np.zeros((5, 5), bool), "dtype bool"),
        (np.zeros((0, 5)), "empty"),
    ],
)
def test_unusable_arrays_are_refused(image, match):
    with pytest.raises(PreprocessError, match=match):
        to_mnist(image)


def write_png(path, array: np.ndarray) -> str:
    Image.fromarray(array).save(path)
    return str(path)


def test_png_and_jpeg_of_any_mode_are_read(tmp_path):
    gray = canvas(seven())
    reference = to_mnist(gray)
    u8 = np.round((1 - gray) * 255).astype(np.uint8)  # dark on white, as drawn on paper
    rgb = np.repeat(u8[..., None], 3, axis=-1)
    rgba = np.dstack(
        [np.zeros_like(rgb), np.round(gray * 255).astype(np.uint8)]
    )  # black strokes, transparent
    files = {
        "l.png": write_png(tmp_path / "l.png", u8),
        "rgb.png": write_png(tmp_path / "rgb.png", rgb),
        "rgba.png": write_png(tmp_path / "rgba.png", rgba),
        "16bit.png": write_png(tmp_path / "16bit.png", np.round(60000 - 40000 * gray).astype(np.uint16)),
        "p.png": str(tmp_path / "p.png"),
        "photo.jpg": str(tmp_path / "photo.jpg"),
    }
    Image.fromarray(rgb).convert("P").save(files["p.png"])
    Image.fromarray(rgb).save(files["photo.jpg"], quality=90)
    assert read_pixels(files["l.png"]).shape == (200, 150)
    assert read_pixels(files["rgba.png"]).shape == (200, 150, 4)
    for name, path in files.items():
        out = read_image(path)
        tolerance = 0.15 if name == "photo.jpg" else 0.02  # JPEG is lossy
        np.testing.assert_allclose(out, reference, atol=tolerance, err_msg=name)


def test_a_28x28_npy_is_used_as_is_and_other_arrays_are_processed(tmp_path):
    off_centre = np.zeros((28, 28), np.uint8)
    off_centre[2:10, 3:6] = 255  # not centred: kept so
    np.save(tmp_path / "exact.npy", off_centre)
    np.testing.assert_array_equal(read_image(tmp_path / "exact.npy"), off_centre[..., None] / np.float32(255))
    np.save(tmp_path / "exact_float.npy", off_centre[..., None] / np.float32(255))
    assert read_image(tmp_path / "exact_float.npy")[5, 4, 0] == 1
    np.save(tmp_path / "big.npy", canvas(seven()))
    np.testing.assert_array_equal(read_image(tmp_path / "big.npy"), to_mnist(canvas(seven())))


def test_file_errors_are_one_line_naming_the_file(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (tmp_path / "digit.gif").write_bytes(b"GIF89a")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "bright.npy", np.full((28, 28), 3.0))
    write_png(tmp_path / "blank.png", np.full((40, 30), 255, np.uint8))
    (tmp_path / "folder.png").mkdir()
    os.symlink("loop.png", tmp_path / "loop.png")
    os.symlink("gone.png", tmp_path / "dangling.png")
    cases = {
        "folder.png": "is a folder, not an image",
        "loop.png": "is a symbolic link loop, not an image",
        "dangling.png": "is a symbolic link to gone.png, which does not exist",
        "missing.png": "no such file",
        "broken.png": "not readable as an image",
        "digit.gif": "unsupported file type '.gif'",
        "objects.npy": "not readable as a .npy array",
        "bright.npy": r"float pixels must lie in \[0, 1\]",
        "blank.png": "no digit found",
    }
    for name, match in cases.items():
        with pytest.raises(PreprocessError, match=match) as error:
            read_image(tmp_path / name)
        message = str(error.value)
        assert message.startswith(str(tmp_path / name)) and "\n" not in message, message
    assert issubclass(PreprocessError, ValueError)
    assert set(preprocess.__all__) >= {"to_mnist", "read_image", "read_pixels", "PreprocessError"}


# (EXIF orientation, how a phone stores the upright picture for it)
ORIENTATIONS = [(3, lambda a: np.rot90(a, 2)), (6, lambda a: np.rot90(a, 1)), (8, lambda a: np.rot90(a, -1))]


@pytest.mark.parametrize("orientation, stored_as", ORIENTATIONS, ids=["180", "270", "90"])
@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_exif_orientation_turns_the_picture_upright(tmp_path, orientation, stored_as, suffix):
    upright = np.round((1 - canvas(seven())) * 255).astype(np.uint8)  # a 7 upside down is no 7
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    path = tmp_path / f"photo{suffix}"
    Image.fromarray(np.ascontiguousarray(stored_as(upright))).save(path, exif=exif)
    if suffix == ".png":  # lossless: the very pixels a viewer shows
        np.testing.assert_array_equal(read_pixels(path), upright)
    np.testing.assert_allclose(read_image(path), to_mnist(upright), atol=0.15)  # JPEG is lossy


@pytest.mark.parametrize("size", [(13000, 13000), (14000, 13000)], ids=["over-pil-warning", "over-pil-limit"])
def test_a_huge_image_is_refused_in_one_line_before_decoding(tmp_path, size):
    path = tmp_path / "huge.png"
    Image.new("1", size).save(path)  # 20 KB on disk; PIL warns above 89 and refuses above 179 megapixels
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a DecompressionBombWarning would fail the test
        with pytest.raises(PreprocessError, match="too large") as error:
            read_image(path)
    message = str(error.value)
    pixels = "13000 x 13000 = 169,000,000 pixels" if size[0] == 13000 else "182,000,000 pixels"
    assert message == (
        f"{path}: too large: {pixels}, more than the limit of 67,108,864 (8192 x 8192); "
        "shrink the picture first"
    )


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_a_large_image_is_shrunk_before_any_float_copy(tmp_path, suffix):
    gray = canvas(seven())  # 200 x 150
    u8 = np.round((1 - gray) * 255).astype(np.uint8)
    path = tmp_path / f"large{suffix}"
    Image.fromarray(u8).resize((6000, 8000), Image.Resampling.NEAREST).save(path)  # 48 megapixels
    tracemalloc.start()  # numpy's buffers and Python's bytes, not PIL's own decoding
    try:
        out = read_image(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20e6, peak  # one float32 copy of 48 megapixels is 192 MB
    pixels = read_pixels(path)
    assert max(pixels.shape) <= preprocess.READ_SIDE
    if suffix == ".png":  # 40x by repetition, then the mean of 8 x 8 blocks: exactly 5x
        np.testing.assert_array_equal(pixels, np.kron(u8, np.ones((5, 5), np.uint8)))
    np.testing.assert_allclose(out, to_mnist(u8), atol=0.15)  # 0.1: resampling differs by scale


def test_every_real_mnist_digit_has_ink():
    from fnn.data import load_mnist

    digits = load_mnist(validation=0).test.x[:1000]
    for digit in digits:
        require_ink(digit[..., 0])  # as a 28 x 28 .npy is used
        to_mnist(digit)  # as a picture of it would be


def test_blank_and_near_blank_inputs_are_refused_in_every_format(tmp_path):
    np.save(tmp_path / "zeros.npy", np.zeros((28, 28), np.uint8))
    dot = np.zeros((28, 28, 1), np.float32)
    dot[14, 14] = 0.3  # one dark pixel
    np.save(tmp_path / "dot.npy", dot)
    specks = np.zeros((28, 28), np.uint8)
    specks[[3, 9, 20], [5, 17, 11]] = 255  # three specks, full ink
    np.save(tmp_path / "specks.npy", specks)
    paper = np.full((200, 150), 255, np.uint8)
    paper[100, 70] = 0  # a dot on white paper: scaled up, it would fill the 20 x 20 box
    write_png(tmp_path / "dot.png", paper)
    paper[[5, 50, 150], [20, 100, 30]] = 0
    Image.fromarray(paper).save(tmp_path / "specks.jpg", quality=95)
    cases = {
        "zeros.npy": "every pixel is within 0.000 of the background",
        "dot.npy": "1 of 784 pixels hold ink (needs 10)",
        "specks.npy": "3 of 784 pixels hold ink (needs 10)",
        "dot.png": "1 of 30000 pixels hold ink (needs 10)",
        "specks.jpg": "pixels hold ink (needs 10)",
    }
    for name, match in cases.items():
        with pytest.raises(PreprocessError) as error:
            read_image(tmp_path / name)
        message = str(error.value)
        assert message.startswith(f"{tmp_path / name}: no digit found: "), message
        assert match in message and message.endswith("; is the image blank?"), message
