"""Data augmentation on the device: random affine warps and elastic distortions of image batches.

A data transform, not a layer: no parameters, no state, no backward to write. It acts on the
inputs before the model sees them (inside the jitted train step, on the device), and nothing
is differentiated through it. Every draw comes from an explicit key: an augmented batch is a
pure function of (key, x), and each example draws its own transform.

Shapes: x (N, H, W, C) -> (N, H, W, C), NHWC as everywhere in fnn (MNIST: (N, 28, 28, 1)).
Every channel moves alike.

Resampling maps backwards: each output pixel p = (i, j) (row, column) reads the input at a
source point q, interpolated bilinearly from the four pixels around q. Pixel (i, j) is the
point (i, j); neighbours outside the image read `background` (so the edge blends into it over
one pixel, as scipy.ndimage's mode="grid-constant"). Bilinear weights are >= 0 and sum to 1,
so outputs stay within [min(x, background), max(x, background)], up to rounding; at an
integer source point the weights are exactly (1, 0, 0, 0) and the pixel comes back bit for bit.

Conventions, in (row, column) coordinates with rows pointing DOWN as an image is displayed,
about the centre c = ((H - 1) / 2, (W - 1) / 2):
- a positive angle turns the content COUNTERCLOCKWISE on screen: 90 degrees is
  np.rot90(x, 1, axes=(1, 2)) on a square image (the sense of scipy.ndimage.rotate);
- zoom > 1 enlarges the content (zoom 2 doubles a centred square's side);
- a positive translation moves the content DOWN (rows) and RIGHT (columns), in pixels;
- the content at q goes to p = c + zoom R(angle) (q - c) + t, R(a) = [[cos a, -sin a],
  [sin a, cos a]]; so p reads q = c + R(-angle) (p - c - t) / zoom, which is `warp`'s
  q = matrix p + offset (scipy.ndimage.affine_transform's form) with matrix = R(-angle) / zoom
  and offset = c - matrix (c + t).

`augmentation(...)` validates its settings once and returns an `Augmentation`, a frozen
(hashable, printable) dataclass called as `augment(key, x)`: a random affine warp, then an
elastic distortion (Simard, Steinkraus and Platt, 2003). The two maps are composed and the
image is resampled once (one bilinear blur, not two). `random_affine` and `elastic` are the
two halves alone and use the key as `augment` does: k_affine, k_elastic = split(key).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from fnn import checks

__all__ = [
    "Augmentation",
    "augmentation",
    "random_affine",
    "elastic",
    "warp",
    "affine_about_centre",
    "elastic_displacement",
]


@dataclasses.dataclass(frozen=True)
class Augmentation:
    """A random affine warp, then an elastic distortion if elastic_alpha > 0: `augment(key, x)`.

    Frozen, so hashable: close over it in a jitted step or pass it as a static argument.
    `augmentation(...)` builds one; construction validates either way.
    """

    rotation: float = 0.0  # degrees: the angle is uniform in [-rotation, rotation]
    scale: float = 0.0  # the zoom is uniform in [1 - scale, 1 + scale]
    shift: float = 0.0  # the translation is uniform in [-shift, shift] * (H, W), per axis
    elastic_alpha: float = 0.0  # pixels: the elastic displacement's scale (0: none)
    elastic_sigma: float = 4.0  # pixels: the Gaussian smoothing's width
    background: float = 0.0  # what sources outside the image read

    def __post_init__(self):
        settings = (
            *_affine_settings("augmentation", self.rotation, self.scale, self.shift),
            *_elastic_settings("augmentation", self.elastic_alpha, self.elastic_sigma),
            _background("augmentation", self.background),
        )
        for field, value in zip([f.name for f in dataclasses.fields(self)], settings):
            object.__setattr__(self, field, value)  # as floats: 15 and 15.0 are one setting

    def __call__(self, key: jax.Array, x: Any) -> jax.Array:
        """Augment a batch.

        Args:
            key: a PRNG key. x: (N, H, W, C) floating.

        Returns:
            (N, H, W, C), x's dtype; x itself when every strength is 0.

        Raises:
            ValueError: x not a 4-D floating batch.
        """
        x = _images("augmentation", x)
        if self.rotation == self.scale == self.shift == self.elastic_alpha == 0:
            return x
        return _augment(self, _key("augmentation", key), x)


def augmentation(
    *,
    rotation: float = 0.0,
    scale: float = 0.0,
    shift: float = 0.0,
    elastic_alpha: float = 0.0,
    elastic_sigma: float = 4.0,
    background: float = 0.0,
) -> Augmentation:
    """A random augmentation `(key, x) -> x`: `random_affine`, then `elastic` if elastic_alpha > 0.

    Args:
        rotation, scale, shift, background: as in `random_affine` (degrees; zoom 1 +- scale;
            a fraction of the image size).
        elastic_alpha, elastic_sigma: `elastic`'s alpha and sigma (pixels); alpha 0 turns it off.

    Returns:
        An Augmentation (hashable, printable); the identity, exactly, at zero strength.

    Raises:
        ValueError: a setting out of range, naming it and its value.
    """
    return Augmentation(rotation, scale, shift, elastic_alpha, elastic_sigma, background)


def random_affine(
    key: jax.Array,
    x: Any,
    *,
    rotation: float = 0.0,
    scale: float = 0.0,
    shift: float = 0.0,
    background: float = 0.0,
) -> jax.Array:
    """Rotate, zoom and shift each example by its own random amounts, about the image centre.

    Args:
        key: a PRNG key. x: (N, H, W, C) floating.
        rotation: the angle is uniform in [-rotation, rotation] degrees (positive:
            counterclockwise on screen); 0 <= rotation <= 180.
        scale: the zoom is uniform in [1 - scale, 1 + scale], both axes alike; 0 <= scale < 1.
        shift: the translation is uniform in [-shift, shift] times the image's size, each axis
            on its own; 0 <= shift <= 0.5.
        background: what pixels from outside the image read.

    Returns:
        (N, H, W, C), x's dtype; x itself, bit for bit, when rotation = scale = shift = 0.

    Raises:
        ValueError: a setting out of range; x not a 4-D floating batch.
    """
    settings = _affine_settings("random_affine", rotation, scale, shift)
    background = _background("random_affine", background)
    x = _images("random_affine", x)
    return _augment(Augmentation(*settings, background=background), _key("random_affine", key), x)


def elastic(
    key: jax.Array, x: Any, *, alpha: float = 34.0, sigma: float = 4.0, background: float = 0.0
) -> jax.Array:
    """Elastic distortion (Simard et al. 2003): pixel p reads x at p + d(p), d = `elastic_displacement`.

    The defaults, alpha = 34 and sigma = 4 pixels, are the usual ones for 28 x 28 MNIST.

    Args:
        key: a PRNG key. x: (N, H, W, C) floating.
        alpha: the displacement's scale in pixels, >= 0. sigma: its smoothness in pixels, > 0.
        background: what pixels from outside the image read.

    Returns:
        (N, H, W, C), x's dtype; x itself, bit for bit, when alpha = 0.

    Raises:
        ValueError: a setting out of range; x not a 4-D floating batch.
    """
    alpha, sigma = _elastic_settings("elastic", alpha, sigma)
    background = _background("elastic", background)
    x = _images("elastic", x)
    return _augment(
        Augmentation(elastic_alpha=alpha, elastic_sigma=sigma, background=background), _key("elastic", key), x
    )


def warp(x: Any, matrix: Any, offset: Any, *, background: float = 0.0) -> jax.Array:
    """Resample x at q = matrix p + offset for each output pixel p = (row, column): a GIVEN affine map.

    scipy.ndimage.affine_transform's convention (order=1, mode="grid-constant"): the matrix maps
    OUTPUT coordinates to INPUT ones. `affine_about_centre` builds it from an angle, a zoom and
    a translation.

    Args:
        x: (N, H, W, C) floating.
        matrix: (N, 2, 2), or (2, 2) for every example. offset: (N, 2), or (2,), in pixels.
        background: what points outside the image read.

    Returns:
        (N, H, W, C), x's dtype; x itself, bit for bit, for matrix = I and offset = 0.

    Raises:
        ValueError: x not a 4-D floating batch; matrix or offset of the wrong shape.
    """
    background = _background("warp", background)
    x = _images("warp", x)
    N = x.shape[0]
    dtype = _coordinate_dtype(x)
    matrix, offset = jnp.asarray(matrix, dtype), jnp.asarray(offset, dtype)
    if matrix.shape not in ((2, 2), (1, 2, 2), (N, 2, 2)):
        raise ValueError(f"warp: matrix must have shape (2, 2) or ({N}, 2, 2), got {matrix.shape}")
    if offset.shape not in ((2,), (1, 2), (N, 2)):
        raise ValueError(f"warp: offset must have shape (2,) or ({N}, 2), got {offset.shape}")
    return _warp(x, jnp.broadcast_to(matrix, (N, 2, 2)), jnp.broadcast_to(offset, (N, 2)), background)


@functools.partial(jax.jit, static_argnames="size")
def affine_about_centre(
    angle: Any, zoom: Any, translation: Any, size: tuple[int, int]
) -> tuple[jax.Array, jax.Array]:
    """`warp`'s (matrix, offset) for a rotation and zoom about the image centre, then a shift.

    The content at q goes to c + zoom R(angle) (q - c) + translation, c = ((H - 1) / 2, (W - 1) / 2).

    Args:
        angle: (N,) degrees, positive counterclockwise on screen. zoom: (N,), > 1 enlarges.
        translation: (N, 2) pixels, (down, right). Scalars and one (2,) translation broadcast.
        size: (H, W), a static tuple.

    Returns:
        (matrix, offset): (N, 2, 2) and (N, 2), the inverse map q = matrix p + offset;
        exactly (I, 0) for angle 0, zoom 1, translation 0.
    """
    angle, zoom, translation = jnp.asarray(angle), jnp.asarray(zoom), jnp.asarray(translation)
    dtype = jnp.promote_types(jnp.result_type(angle, zoom, translation), jnp.float32)
    N = np.broadcast_shapes(angle.shape, zoom.shape, translation.shape[:-1], (1,))[0]
    theta = jnp.deg2rad(jnp.broadcast_to(angle.astype(dtype), (N,)))
    zoom = jnp.broadcast_to(zoom.astype(dtype), (N,))
    cos, sin = jnp.cos(theta) / zoom, jnp.sin(theta) / zoom
    matrix = jnp.stack([jnp.stack([cos, sin], -1), jnp.stack([-sin, cos], -1)], -2)  # R(-angle) / zoom
    centre = jnp.array([(size[0] - 1) / 2, (size[1] - 1) / 2], dtype)
    lands = centre + jnp.broadcast_to(translation.astype(dtype), (N, 2))  # where the centre goes
    offset = centre - (matrix[:, :, 0] * lands[:, :1] + matrix[:, :, 1] * lands[:, 1:])
    return matrix, offset


def elastic_displacement(
    key: jax.Array, shape: tuple[int, int, int], *, alpha: float, sigma: float, dtype: Any = jnp.float32
) -> jax.Array:
    """Random smooth displacement fields (Simard et al. 2003), in pixels.

    Each component is uniform in [-1, 1] per pixel, convolved with a Gaussian of width sigma
    (normalized to sum 1, truncated at 3 sigma, zero padding: scipy.ndimage.gaussian_filter's
    mode="constant", truncate=3), then multiplied by alpha; so |d| <= alpha per component.

    Args:
        key: a PRNG key. shape: (N, H, W). alpha: pixels, >= 0. sigma: pixels, > 0.
        dtype: a floating dtype.

    Returns:
        d: (N, H, W, 2), the (row, column) displacement of each pixel's source point.
    """
    alpha, sigma = _elastic_settings("elastic_displacement", alpha, sigma)
    if not (isinstance(shape, (tuple, list)) and len(shape) == 3):
        raise ValueError(f"elastic_displacement: shape must be (N, H, W), got {shape!r}")
    shape = tuple(checks.positive_int("elastic_displacement", "each size in shape", n) for n in shape)
    return _displacement(_key("elastic_displacement", key), shape, alpha, sigma, jnp.dtype(dtype))


def _images(owner: str, x: Any) -> jax.Array:
    """x as a jax array if it is a 4-D (N, H, W, C) floating batch; else ValueError."""
    shape = getattr(x, "shape", None)
    if shape is None:
        got = f"a {type(x).__name__}; convert it, e.g. jnp.asarray(x, jnp.float32)"
        raise ValueError(f"{owner}: expected x of shape (N, H, W, C), got {got}")
    if len(shape) != 4:
        raise ValueError(f"{owner}: expected x of shape (N, H, W, C), got x.shape={tuple(shape)}")
    checks.floating(owner, "x", x)
    return jnp.asarray(x)


def _key(owner: str, key: Any) -> Any:
    """key if it is one (not None): every draw needs an explicit PRNG key."""
    if key is None:
        raise ValueError(f"{owner}: needs a PRNG key for its random draws, e.g. jax.random.key(0)")
    return key


def _affine_settings(owner: str, rotation: Any, scale: Any, shift: Any) -> tuple[float, float, float]:
    return (
        checks.number(owner, "rotation (degrees)", rotation, low=0.0, high=180.0),
        checks.number(owner, "scale", scale, low=0.0, high=1.0, high_open=True),
        checks.number(owner, "shift (a fraction of the image size)", shift, low=0.0, high=0.5),
    )


def _elastic_settings(owner: str, alpha: Any, sigma: Any) -> tuple[float, float]:
    return (
        checks.number(owner, "alpha (pixels)", alpha, low=0.0),
        checks.number(owner, "sigma (pixels)", sigma, low=0.0, low_open=True),
    )


def _background(owner: str, background: Any) -> float:
    return checks.number(owner, "background", background)


def _coordinate_dtype(x: jax.Array) -> Any:
    """float32 at least: in bfloat16, coordinates would land pixels a fraction off."""
    return jnp.promote_types(x.dtype, jnp.float32)


def _grid(H: int, W: int, dtype: Any) -> tuple[jax.Array, jax.Array]:
    """The output pixels' (row, column) coordinates: (H, W) each."""
    return jnp.meshgrid(jnp.arange(H, dtype=dtype), jnp.arange(W, dtype=dtype), indexing="ij")


def _map(matrix: jax.Array, offset: jax.Array, rows: jax.Array, cols: jax.Array):
    """(rows, cols) -> matrix (rows, cols) + offset per example; matrix (N, 2, 2), offset (N, 2).

    NOTE: elementwise, not a matmul (which a GPU may round to TF32): I p + 0 stays p exactly.
    """
    m, o = matrix[:, :, :, None, None], offset[:, :, None, None]
    return m[:, 0, 0] * rows + m[:, 0, 1] * cols + o[:, 0], m[:, 1, 0] * rows + m[:, 1, 1] * cols + o[:, 1]


def _bilinear(x: jax.Array, rows: jax.Array, cols: jax.Array, background: float) -> jax.Array:
    """x read at the source points (rows, cols), bilinearly; outside the image reads background.

    Args:
        x: (N, H, W, C). rows, cols: (N, H_out, W_out), source coordinates in pixels.

    Returns:
        (N, H_out, W_out, C) in x's dtype.
    """
    N, H, W, C = x.shape
    # (1) Beyond one pixel outside, only background is read: clip there (keeps int32 casts sane).
    r, c = jnp.clip(rows, -1, H), jnp.clip(cols, -1, W)
    r0, c0 = jnp.floor(r), jnp.floor(c)
    fr, fc = (r - r0)[..., None], (c - c0)[..., None]  # in [0, 1); exactly 0 at integer points
    r0, c0 = r0.astype(jnp.int32), c0.astype(jnp.int32)
    n = jnp.arange(N)[:, None, None]

    def corner(i, j):
        """x[n, i, j], or background where (i, j) lies outside the image: (N, H_out, W_out, C)."""
        inside = ((i >= 0) & (i < H) & (j >= 0) & (j < W))[..., None]
        v = x[n, jnp.clip(i, 0, H - 1), jnp.clip(j, 0, W - 1)].astype(fr.dtype)
        return jnp.where(inside, v, jnp.asarray(background, fr.dtype))

    # (2) The four neighbours, interpolated along columns, then rows: weights (1 - f, f).
    top = (1 - fc) * corner(r0, c0) + fc * corner(r0, c0 + 1)
    bottom = (1 - fc) * corner(r0 + 1, c0) + fc * corner(r0 + 1, c0 + 1)
    return ((1 - fr) * top + fr * bottom).astype(x.dtype)


@functools.partial(jax.jit, static_argnums=3)
def _warp(x: jax.Array, matrix: jax.Array, offset: jax.Array, background: float) -> jax.Array:
    """`warp` after its checks; matrix (N, 2, 2), offset (N, 2)."""
    rows, cols = _map(matrix, offset, *_grid(*x.shape[1:3], matrix.dtype))
    return _bilinear(x, rows, cols, background)


def _uniform(key: jax.Array, shape: tuple[int, ...], dtype: Any) -> jax.Array:
    """Uniform in [-1, 1), of `shape`. NOTE: drawn flat, then reshaped: XLA:CPU compiles a
    multi-dimensional (partitionable) threefry draw about 4x slower, and runs it slower too."""
    return jax.random.uniform(key, (int(np.prod(shape)),), dtype, -1.0, 1.0).reshape(shape)


def _draw_affine(key, N, size, rotation, scale, shift, dtype):
    """Per example, uniformly: angle in [-rotation, rotation] degrees, zoom in [1 - scale,
    1 + scale], translation in [-shift, shift] * (H, W) pixels; as `affine_about_centre`'s map."""
    u = _uniform(key, (N, 4), dtype)  # one draw: angle, zoom, translation (rows, columns)
    angle = rotation * u[:, 0]
    zoom = 1 + scale * u[:, 1]
    translation = shift * u[:, 2:] * jnp.array(size, dtype)
    return affine_about_centre(angle, zoom, translation, size)


def _gaussian_band(size: int, sigma: float) -> np.ndarray:
    """The (size, size) matrix of a 1-D Gaussian filter with zero padding: band[i, k] = g(k - i).

    g(d) is exp(-d^2 / (2 sigma^2)) for |d| <= radius = int(3 sigma + 0.5), normalized to sum 1
    (scipy.ndimage.gaussian_filter1d's kernel at truncate=3). `band @ u` smooths u along axis 0.
    """
    radius = int(3.0 * sigma + 0.5)
    g = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    g /= g.sum()
    d = np.arange(size)[None, :] - np.arange(size)[:, None]
    return np.where(np.abs(d) <= radius, g[np.clip(d + radius, 0, 2 * radius)], 0.0)


def _smooth(u: jax.Array, sigma: float) -> jax.Array:
    """u (N, H, W, ...) convolved with a Gaussian of width sigma along H and W (separable, zero padding)."""
    H, W = u.shape[1:3]
    band_h = jnp.asarray(_gaussian_band(H, sigma), u.dtype)
    band_w = jnp.asarray(_gaussian_band(W, sigma), u.dtype)
    # Each 1-D convolution is a product with a banded matrix: one small matmul per axis.
    along_h = jnp.einsum("ik,nk...->ni...", band_h, u, precision=lax.Precision.HIGHEST)
    return jnp.einsum("jk,nik...->nij...", band_w, along_h, precision=lax.Precision.HIGHEST)


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _displacement(key: jax.Array, shape: tuple, alpha: float, sigma: float, dtype: Any) -> jax.Array:
    """`elastic_displacement` after its checks: alpha times smoothed uniform noise, (N, H, W, 2)."""
    return alpha * _smooth(_uniform(key, (*shape, 2), dtype), sigma)


@functools.partial(jax.jit, static_argnums=0)
def _augment(settings: Augmentation, key: jax.Array, x: jax.Array) -> jax.Array:
    """x resampled once through the composed map: p reads x at A(p + d(p)), A the affine map.

    Jitted once per settings and shape, so an eager call is one dispatch; inside a jitted
    step it is inlined.
    """
    N, H, W, _ = x.shape
    dtype = _coordinate_dtype(x)
    k_affine, k_elastic = jax.random.split(key)
    rows, cols = _grid(H, W, dtype)
    s = settings
    if s.elastic_alpha > 0:  # (1) the elastic map, applied last, reads at p + d(p) ...
        d = _displacement(k_elastic, (N, H, W), s.elastic_alpha, s.elastic_sigma, dtype)
        rows, cols = rows + d[..., 0], cols + d[..., 1]
    if s.rotation > 0 or s.scale > 0 or s.shift > 0:  # (2) ... of the warp, which reads at A(.)
        matrix, offset = _draw_affine(k_affine, N, (H, W), s.rotation, s.scale, s.shift, dtype)
        rows, cols = _map(matrix, offset, rows, cols)
    rows, cols = jnp.broadcast_to(rows, (N, H, W)), jnp.broadcast_to(cols, (N, H, W))
    return _bilinear(x, rows, cols, s.background)  # (3) one resampling for both maps
