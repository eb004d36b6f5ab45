"""fnn.augment: geometry on constructed images, the random draws' bounds, exact identity at zero
strength, the convex range of bilinear resampling, jit/vmap, and the errors.

Compilation is most of the cost: the tests share a few settings and the batch shape X_SHAPE."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage as ndi

from fnn import augment
from fnn.augment import (
    Augmentation,
    affine_about_centre,
    augmentation,
    elastic,
    elastic_displacement,
    random_affine,
    warp,
)

KEY = jax.random.key(0)
X_SHAPE = (4, 28, 28, 1)
AFFINE = dict(rotation=20.0, scale=0.1, shift=0.1)
ELASTIC = dict(alpha=8.0, sigma=3.0)
BOTH = augmentation(**AFFINE, elastic_alpha=8.0, elastic_sigma=3.0)
AUGMENTS = {
    "random_affine": lambda key, x: random_affine(key, x, **AFFINE),
    "elastic": lambda key, x: elastic(key, x, **ELASTIC),
    "augmentation": BOTH,
}


def images(shape=X_SHAPE, *, low=0.0, high=1.0, seed=0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def dot(size, at):
    """A single bright pixel at `at` = (row, column) in a (1, size, size, 1) batch."""
    x = np.zeros((1, size, size, 1), np.float32)
    x[:, at[0], at[1]] = 1.0
    return x


def ramps(N, size):
    """Two channels x[i, j] = (i - c, j - c), c the centre: a pixel's value is its position.
    Bilinear resampling reproduces a linear function exactly, so the output is the source map."""
    i, j = np.meshgrid(np.arange(size) - (size - 1) / 2, np.arange(size) - (size - 1) / 2, indexing="ij")
    return np.broadcast_to(np.stack([i, j], -1), (N, size, size, 2)).astype(np.float32)


def moved(x, angle=0.0, zoom=1.0, translation=(0.0, 0.0), **kwargs):
    return warp(x, *affine_about_centre(angle, zoom, translation, x.shape[1:3]), **kwargs)


# Geometry of a GIVEN transform: warp and affine_about_centre.


def test_warp_matches_scipy_affine_transform():
    rng = np.random.default_rng(1)
    x = images((2, 9, 12, 2))
    matrix = (np.eye(2) + 0.4 * rng.normal(size=(2, 2, 2))).astype(np.float32)
    offset = (3 * rng.normal(size=(2, 2))).astype(np.float32)
    y = warp(x, matrix, offset, background=0.25)
    reference = [
        [
            ndi.affine_transform(x[n, ..., c], matrix[n], offset[n], order=1, mode="grid-constant", cval=0.25)
            for c in range(2)
        ]
        for n in range(2)
    ]
    np.testing.assert_allclose(y, np.moveaxis(np.array(reference), 1, -1), atol=1e-5)


@pytest.mark.parametrize("translation", [(3, -5), (-10, 0), (0, 7)])
def test_a_whole_pixel_translation_moves_a_pixel_there_exactly(translation):
    """Positive translations move the content down (rows) and right (columns)."""
    y = moved(dot(28, (10, 12)), translation=translation)
    np.testing.assert_array_equal(y, dot(28, (10 + translation[0], 12 + translation[1])))


def test_a_translation_fills_with_background():
    x = images((1, 28, 28, 1), low=0.1, high=0.6)
    expected = np.full_like(x, 0.75)
    expected[:, 3:, :26] = x[:, :25, 2:]  # down 3, left 2
    np.testing.assert_array_equal(moved(x, translation=(3.0, -2.0), background=0.75), expected)


def test_a_source_outside_the_image_reads_background():
    x = images((1, 28, 28, 1))
    np.testing.assert_array_equal(moved(x, translation=(0.0, 28.5)), 0.0)
    np.testing.assert_array_equal(warp(x, np.eye(2), (0.0, 1e9), background=-2.0), -2.0)


@pytest.mark.parametrize("size", [7, 8])
@pytest.mark.parametrize("angle, k", [(90.0, 1), (-90.0, -1), (180.0, 2)])
def test_rotation_by_quarter_turns_is_rot90(size, angle, k):
    """A positive angle turns the content counterclockwise on screen (rows down), as np.rot90."""
    x = images((2, size, size, 2))
    np.testing.assert_allclose(moved(x, angle), np.rot90(x, k, axes=(1, 2)), atol=1e-5)


def test_rotation_agrees_with_scipy_rotate():
    x = images((1, 28, 28, 1))
    reference = ndi.rotate(x[0, :, :, 0], 30.0, reshape=False, order=1, mode="grid-constant")
    np.testing.assert_allclose(moved(x, 30.0)[0, :, :, 0], reference, atol=1e-5)


def test_zoom_2_about_the_centre_doubles_a_centred_square():
    x = np.zeros((1, 28, 28, 1), np.float32)
    x[:, 12:16, 12:16] = 1.0  # side 4, centred at (13.5, 13.5)
    y = np.asarray(moved(x, zoom=2.0))
    rows, cols = np.nonzero(y[0, :, :, 0] >= 0.5)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (10, 17, 10, 17)  # side 8
    assert y.sum() == pytest.approx(4 * x.sum(), rel=1e-6)  # area x 4 (edges ramp 1/4, 3/4)


def test_the_identity_map_is_exactly_the_identity_matrix():
    matrix, offset = affine_about_centre(np.zeros(3), np.ones(3), np.zeros((3, 2)), (28, 28))
    np.testing.assert_array_equal(matrix, np.broadcast_to(np.eye(2), (3, 2, 2)))
    np.testing.assert_array_equal(offset, 0.0)


# The random draws: bounds, both ends reached, determinism, identity.


def test_random_angle_zoom_and_translation_stay_within_bounds_and_reach_both_ends():
    """Read each example's inverse map q = c + R(-angle) (p - c - t) / zoom off ramp images."""
    y = np.asarray(random_affine(KEY, ramps(256, 29), rotation=30, scale=0.2, shift=0.1), np.float64)
    column = (y[:, 15, 14] - y[:, 13, 14]) / 2  # matrix[:, 0] = (cos, -sin) / zoom
    angle = np.degrees(np.arctan2(-column[:, 1], column[:, 0]))
    zoom = 1 / np.hypot(*column.T)
    matrix = np.stack([column, (y[:, 14, 15] - y[:, 14, 13]) / 2], -1)
    translation = -np.linalg.solve(matrix, y[:, 14, 14, :, None])[..., 0]  # the centre reads -matrix t
    for drawn, bound in [(angle, 30.0), (zoom - 1, 0.2), (translation[:, 0], 2.9), (translation[:, 1], 2.9)]:
        assert np.abs(drawn).max() <= bound * (1 + 1e-4)
        assert drawn.max() > 0.9 * bound and drawn.min() < -0.9 * bound
    assert abs(np.corrcoef(translation.T)[0, 1]) < 0.2  # the two axes are drawn independently


def test_zero_bounds_draw_exactly_the_identity_map():
    draw = jax.jit(augment._draw_affine, static_argnums=(1, 2, 3, 4, 5, 6))
    matrix, offset = draw(KEY, 5, (28, 28), 0.0, 0.0, 0.0, jnp.float32)
    np.testing.assert_array_equal(matrix, np.broadcast_to(np.eye(2), (5, 2, 2)))
    np.testing.assert_array_equal(offset, 0.0)


@pytest.mark.parametrize("name", sorted(AUGMENTS))
def test_the_same_key_gives_the_same_batch_and_another_key_another(name):
    f, x = AUGMENTS[name], images()
    np.testing.assert_array_equal(f(KEY, x), f(jax.random.key(0), x))
    assert not np.allclose(f(KEY, x), f(jax.random.key(1), x), atol=1e-3)
    y = np.asarray(f(KEY, np.repeat(images()[:1], 4, axis=0)))
    assert not np.allclose(y[0], y[1], atol=1e-3)  # each example draws its own transform


IDENTITIES = {
    "random_affine": lambda key, x: random_affine(key, x, background=0.5),
    "elastic": lambda key, x: elastic(key, x, alpha=0.0, background=0.5),
    "augmentation": augmentation(background=0.5),
    "warp": lambda key, x: warp(x, jnp.eye(2), jnp.zeros(2), background=0.5),
}


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("name", sorted(IDENTITIES))
def test_zero_strength_is_the_identity_exactly(name, jit):
    f = jax.jit(IDENTITIES[name]) if jit else IDENTITIES[name]
    x = images((3, 9, 13, 3), low=-1.0, high=2.0)
    np.testing.assert_array_equal(f(KEY, x), x)


def test_outputs_stay_within_the_range_of_x_and_background():
    """Bilinear weights are >= 0 and sum to 1: every output is a convex combination."""
    x = images(low=0.2, high=0.8)
    y = np.asarray(
        augmentation(rotation=40, scale=0.3, shift=0.2, elastic_alpha=20.0, background=1.0)(KEY, x)
    )
    assert y.min() >= x.min() - 1e-6 and y.max() <= 1.0 + 1e-6
    assert y.max() == 1.0  # background did come in


def test_augmentation_composes_the_affine_then_the_elastic_map():
    """Resampling once through the composed map equals warping, then distorting with the same
    draws, where every source is inside the image (ramps: bilinear resampling is exact there)."""
    r = ramps(4, 28)
    x = 0.5 + 0.03 * r[..., :1] - 0.02 * r[..., 1:]  # X_SHAPE
    once = np.asarray(BOTH(KEY, x))
    twice = np.asarray(elastic(KEY, random_affine(KEY, x, **AFFINE), **ELASTIC))
    np.testing.assert_allclose(once[:, 10:18, 10:18], twice[:, 10:18, 10:18], atol=1e-5)
    np.testing.assert_array_equal(augmentation(**AFFINE)(KEY, x), random_affine(KEY, x, **AFFINE))
    np.testing.assert_array_equal(
        augmentation(elastic_alpha=8.0, elastic_sigma=3.0)(KEY, x), elastic(KEY, x, **ELASTIC)
    )


# Elastic distortion.


@pytest.mark.parametrize("sigma, size", [(1.5, 12), (4.0, 28), (10.0, 20)])
def test_the_smoothing_is_scipys_gaussian_filter_with_zero_padding(sigma, size):
    u = np.random.default_rng(2).uniform(-1, 1, (2, size, size + 3, 2)).astype(np.float32)
    reference = [
        [ndi.gaussian_filter(u[n, ..., c], sigma, mode="constant", truncate=3.0) for c in range(2)]
        for n in range(2)
    ]
    np.testing.assert_allclose(augment._smooth(u, sigma), np.moveaxis(np.array(reference), 1, -1), atol=1e-5)


def test_elastic_displacement_is_bounded_by_alpha_and_smooth():
    d = np.asarray(elastic_displacement(KEY, X_SHAPE[:3], alpha=8.0, sigma=3.0))
    assert d.shape == (*X_SHAPE[:3], 2)
    assert np.abs(d).max() <= 8.0 and np.abs(d).max() > 0.5
    step = np.abs(np.diff(d, axis=2)).mean() / np.abs(d).mean()  # white noise: 4/3
    assert step < 0.4  # neighbours move together


def test_elastic_moves_a_pixel_by_at_most_alpha():
    """Output p reads x at p + d(p), |d| <= alpha per axis: a lit output lies within 1 + alpha."""
    x = np.repeat(dot(28, (14, 14)), 4, axis=0)
    y = np.asarray(elastic(KEY, x, **ELASTIC))
    _, rows, cols, _ = np.nonzero(y)
    assert len(rows) > 0 and np.abs(rows - 14).max() < 9.0 and np.abs(cols - 14).max() < 9.0
    assert not np.allclose(y, x)


# Shapes, dtypes, jit, vmap.


def test_an_augmentation_is_hashable_printable_and_static_under_jit():
    assert BOTH == augmentation(rotation=20, scale=0.1, shift=0.1, elastic_alpha=8, elastic_sigma=3)
    assert hash(augmentation(rotation=15)) == hash(Augmentation(15.0))  # 15 and 15.0: one setting
    assert repr(augmentation(rotation=15, scale=0.15, shift=0.1)) == (
        "Augmentation(rotation=15.0, scale=0.15, shift=0.1, elastic_alpha=0.0, elastic_sigma=4.0, background=0.0)"
    )
    step = jax.jit(lambda aug, key, x: aug(key, x), static_argnums=0)
    np.testing.assert_allclose(step(BOTH, KEY, images()), BOTH(KEY, images()), atol=1e-5)


@pytest.mark.parametrize("shape", [(1, 28, 28, 1), (256, 28, 28, 1), (4, 28, 28, 3)])
def test_it_works_for_any_batch_and_channel_count(shape):
    x = images(shape)
    y = BOTH(KEY, x)
    assert y.shape == x.shape and y.dtype == jnp.float32
    if shape[-1] == 3:  # every channel moves alike: a grey image stays grey
        grey = np.asarray(BOTH(KEY, np.repeat(x[..., :1], 3, axis=-1)))
        np.testing.assert_array_equal(grey[..., 1], grey[..., 0])


def test_it_vmaps_over_keys_and_batches():
    keys, x = jax.random.split(KEY, 3), images((3, *X_SHAPE))
    aug = augmentation(**AFFINE)
    y = jax.vmap(aug)(keys, x)
    np.testing.assert_allclose(y, np.stack([aug(k, b) for k, b in zip(keys, x)]), atol=1e-5)


def test_lower_precision_images_keep_their_dtype():
    x = jnp.asarray(images(), jnp.bfloat16)
    y = augmentation(**AFFINE)(KEY, x)
    assert y.dtype == jnp.bfloat16 and y.shape == x.shape
    np.testing.assert_array_equal(augmentation()(KEY, x), x)


# Errors.


@pytest.mark.parametrize(
    "settings, words",
    [
        (dict(rotation=-3), ["rotation (degrees)", "[0, 180]", "got -3"]),
        (dict(rotation=200), ["rotation", "got 200"]),
        (dict(rotation=math.nan), ["rotation", "got nan"]),
        (dict(rotation="15"), ["rotation", "got '15'"]),
        (dict(scale=1.0), ["scale", "[0, 1)", "got 1.0"]),
        (dict(scale=-0.1), ["scale", "got -0.1"]),
        (dict(shift=0.6), ["shift (a fraction of the image size)", "got 0.6"]),
        (dict(shift=True), ["shift", "got True"]),
        (dict(elastic_alpha=-1), ["alpha (pixels)", "got -1"]),
        (dict(elastic_sigma=0), ["sigma (pixels)", "> 0", "got 0"]),
        (dict(background=math.inf), ["background", "got inf"]),
    ],
)
def test_bad_settings_are_refused_with_their_value(settings, words):
    with pytest.raises(ValueError, match="^augmentation: ") as error:
        augmentation(**settings)
    assert all(word in str(error.value) for word in words), str(error.value)


def test_the_functions_name_themselves_in_their_errors():
    x = images()
    with pytest.raises(ValueError, match=r"^random_affine: rotation \(degrees\) must .* got -1"):
        random_affine(KEY, x, rotation=-1)
    with pytest.raises(ValueError, match=r"^elastic: sigma \(pixels\) must .* got -2"):
        elastic(KEY, x, sigma=-2)
    with pytest.raises(ValueError, match=r"^elastic_displacement: alpha \(pixels\) must .* got -1"):
        elastic_displacement(KEY, (1, 28, 28), alpha=-1, sigma=4.0)
    with pytest.raises(ValueError, match=r"^elastic_displacement: shape must be \(N, H, W\), got \(28, 28\)"):
        elastic_displacement(KEY, (28, 28), alpha=1.0, sigma=4.0)
    with pytest.raises(ValueError, match=r"^warp: background must be a finite number, got nan"):
        warp(x, np.eye(2), np.zeros(2), background=math.nan)
    with pytest.raises(
        ValueError, match=r"^warp: matrix must have shape \(2, 2\) or \(4, 2, 2\), got \(3, 3\)"
    ):
        warp(x, np.eye(3), np.zeros(2))
    with pytest.raises(ValueError, match=r"^warp: offset must have shape \(2,\) or \(4, 2\), got \(2, 2\)"):
        warp(x, np.eye(2), np.zeros((2, 2)))


@pytest.mark.parametrize("name", sorted(AUGMENTS))
def test_a_missing_key_is_refused_with_how_to_pass_one(name):
    with pytest.raises(ValueError, match=rf"^{name}: needs a PRNG key .* e.g. jax.random.key\(0\)"):
        AUGMENTS[name](None, images())


@pytest.mark.parametrize("name", sorted(AUGMENTS))
def test_bad_images_are_refused_with_their_shape_or_dtype(name):
    f = AUGMENTS[name]
    with pytest.raises(
        ValueError, match=rf"^{name}: expected x of shape \(N, H, W, C\), got x.shape=\(28, 28\)"
    ):
        f(KEY, np.zeros((28, 28), np.float32))
    with pytest.raises(ValueError, match=r"got x.shape=\(2, 28, 28, 1, 1\)"):
        f(KEY, np.zeros((2, 28, 28, 1, 1), np.float32))
    with pytest.raises(ValueError, match=rf"^{name}: x must have a floating dtype .* got uint8"):
        f(KEY, np.zeros((2, 28, 28, 1), np.uint8))
    with pytest.raises(ValueError, match=r"got a list; convert it, e.g. jnp.asarray\(x, jnp.float32\)"):
        f(KEY, [[[[0.0]]]])
