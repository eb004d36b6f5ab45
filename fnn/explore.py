"""Backprop on one image, layer by layer: what each layer of a model outputs, the gradient its
hand-written backward passes back, and the same gradients by `jax.vjp` of its apply.

`Explorer(model, params, state, pixel_mean)` takes a model whose layers run in sequence (a
`serial`, nested ones flattened: its `children`) and one image as `fnn.preprocess.read_image`
makes it, (28, 28, 1) in [0, 1]; the pixel mean is subtracted first, as in training. In test mode:

- `forward(image)`: every layer's output, the scores and the class probabilities (float32, as
  the model runs; the softmax in float64, as `fnn.predict.probabilities`);
- `backward(image, target)`: the loss is softmax cross-entropy against `target`
  (eq:softmax-loss); its dscores (eq:softmax-dscores) go back through each layer's own
  `backward` (eq:serial-chain), in float32: the gradient each layer passes back (`dx`, the
  gradient of the loss with respect to the layer's input) and its parameter gradients. The
  gradient of the first layer's input is the saliency dL/dx of the image (subtracting a
  constant mean does not change it). Then, in float64 (`jax.enable_x64`, for this comparison
  only), each layer is checked on its own: the dy the hand-written chain hands it goes through
  its `backward` and through `jax.vjp` of its `apply` at the same input and parameters, and
  each gradient array gets the largest relative difference max|manual - vjp| / max|vjp| (0
  when both are 0), as `fnn.gradcheck` measures it; the whole chain's dL/dx is compared with
  `jax.grad` of the loss through every apply as well.

Each function is compiled once per Explorer (`fnn.runtime.jit`), for a batch of one image;
the target is an argument, so another class costs no compilation. `layers` describes each
layer: its name, the call that made it, its input and output shapes per example, its
parameters' shapes and the equation labels its backward implements (`Layer.equations` for
the cache type its apply returns). Derivations: derivations/layer.tex and the layer families'.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fnn import runtime
from fnn.gradcheck.check import equation_labels
from fnn.layer import Layer
from fnn.losses import EQUATIONS as LOSS_EQUATIONS
from fnn.losses import softmax_cross_entropy

__all__ = [
    "Explorer",
    "LayerInfo",
    "Forward",
    "LayerGradients",
    "Backward",
    "leaves",
    "LOSS_LABELS",
    "CHAIN_LABELS",
]

LOSS_LABELS = LOSS_EQUATIONS[softmax_cross_entropy]  # eq:softmax-loss, eq:softmax-dscores
CHAIN_LABELS = ("eq:serial-chain",)  # dx of layer l is dy of layer l - 1


class LayerInfo(NamedTuple):
    """One layer of the model, as the page lists it."""

    name: str
    call: str  # the constructor call that made it, e.g. "conv2d(32, 3, padding=1, name='conv1')"
    in_shape: tuple[int, ...]  # per example
    out_shape: tuple[int, ...]
    param_shapes: dict[str, tuple[int, ...]]  # {} for a layer without parameters
    equations: tuple[str, ...]  # the labels its backward implements for the cache its apply returns


class Forward(NamedTuple):
    """Test-mode forward pass of one image."""

    outputs: tuple[np.ndarray, ...]  # each layer's output, per example (no batch axis), float32
    scores: np.ndarray  # (K,) float32: the last output
    probabilities: np.ndarray  # (K,) float64 softmax of the scores


class LayerGradients(NamedTuple):
    """One layer's backward: by its hand-written `backward` (float32) and by `jax.vjp` (float64)."""

    dx: np.ndarray  # the gradient it passes back, like its input (per example), float32
    dparams: dict[str, np.ndarray]  # like its params, float32
    dx_vjp: np.ndarray  # the same by jax.vjp of apply, float64
    dparams_vjp: dict[str, np.ndarray]
    relative: dict[str, float]  # "dx" and each params key: max relative difference in float64


class Backward(NamedTuple):
    """The gradients of the loss against `target` for one image."""

    target: int
    loss: float
    dscores: np.ndarray  # (K,) float32: what the last layer receives (eq:softmax-dscores)
    layers: tuple[LayerGradients, ...]  # in the model's order (the first layer's dx is the saliency)
    saliency: np.ndarray  # dL/dx of the image (28, 28, 1), float32: layers[0].dx
    saliency_grad: np.ndarray  # the same by jax.grad of the loss through every apply, float64
    saliency_relative: float  # their largest relative difference, float64

    def max_relative(self) -> float:
        """The largest relative difference over every array of every layer and the saliency."""
        values = [r for layer in self.layers for r in layer.relative.values()] + [self.saliency_relative]
        return float(np.max(values))  # NOTE: np.max propagates NaN


def leaves(model: Layer, params: Any, state: Any) -> list[tuple[Layer, Any, Any]]:
    """The layers that run in sequence, with their params and state: a container's children
    (nested containers flattened, in order); any other layer is itself."""
    if not model.children:
        return [(model, params, state)]
    found = []
    for child, p, s in zip(model.children, params, state):
        found += leaves(child, p, s)
    return found


def _relative(manual: jax.Array, reference: jax.Array) -> jax.Array:
    """max|manual - reference| / max|reference|; the absolute difference when the reference is 0."""
    scale, diff = jnp.max(jnp.abs(reference)), jnp.max(jnp.abs(manual - reference))
    return jnp.where(scale == 0, diff, diff / jnp.where(scale == 0, 1, scale))


def _as_float64(tree: Any) -> Any:
    return jax.tree.map(lambda a: a.astype(jnp.float64) if jnp.issubdtype(a.dtype, jnp.floating) else a, tree)


class Explorer:
    """A model's forward and backward on one image, layer by layer (module docstring).

    Args:
        model: a Layer; a container's children are the layers shown.
        params, state: the model's (e.g. `fnn.models.load(run).params`).
        pixel_mean: (28, 28, 1) subtracted from every image first (the run's), or None.
        in_shape: the image shape per example.
    """

    def __init__(
        self,
        model: Layer,
        params: Any,
        state: Any,
        pixel_mean: np.ndarray | None = None,
        in_shape: tuple[int, ...] = (28, 28, 1),
    ):
        self.model, self.in_shape = model, tuple(in_shape)
        found = leaves(model, params, state)
        self._layers = tuple(layer for layer, _, _ in found)
        self._params = tuple(jax.tree.map(jnp.asarray, p) for _, p, _ in found)
        self._state = tuple(jax.tree.map(jnp.asarray, s) for _, _, s in found)
        self._mean = None if pixel_mean is None else jnp.asarray(pixel_mean, jnp.float32).reshape(in_shape)
        self.layers = self._describe()
        self.num_classes = int(np.prod(self.layers[-1].out_shape))
        if self.layers[-1].out_shape != (self.num_classes,):
            raise ValueError(
                f"{model.name}: the last layer must output a vector of class scores, got shape {self.layers[-1].out_shape}"
            )
        self._forward = runtime.jit(self._forward_fn)
        self._backward = runtime.jit(self._backward_fn)
        self._compare = runtime.jit(self._compare_fn)

    def _describe(self) -> tuple[LayerInfo, ...]:
        """Shapes and equation labels, from abstract evaluation (nothing is computed)."""
        infos, x = [], jax.ShapeDtypeStruct((1, *self.in_shape), jnp.float32)
        for layer, p, s in zip(self._layers, self._params, self._state):
            y, _, cache = jax.eval_shape(
                lambda p, s, x, layer=layer: layer.apply(p, s, x, train=False), p, s, x
            )
            infos.append(
                LayerInfo(
                    name=layer.name,
                    call=repr(layer),
                    in_shape=tuple(x.shape[1:]),
                    out_shape=tuple(y.shape[1:]),
                    param_shapes={key: tuple(np.shape(v)) for key, v in p.items()}
                    if isinstance(p, dict)
                    else {},
                    equations=equation_labels(layer, cache),
                )
            )
            x = y
        return tuple(infos)

    def _input(self, image: np.ndarray) -> jax.Array:
        """The batch of one image the first layer sees: minus the pixel mean, as in training."""
        image = np.asarray(image, np.float32)
        if image.shape != self.in_shape:
            raise ValueError(
                f"{self.model.name}: expected an image of shape {self.in_shape}, got {image.shape}"
            )
        if not np.isfinite(image).all():
            raise ValueError(f"{self.model.name}: the image holds NaN or Inf")
        x = jnp.asarray(image)[None]
        return x if self._mean is None else x - self._mean

    def _target(self, target: Any) -> jax.Array:
        if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
            raise ValueError(f"{self.model.name}: the target class must be an int, got {target!r}")
        if not 0 <= target < self.num_classes:
            raise ValueError(
                f"{self.model.name}: class {target} is out of range: the model has "
                f"{self.num_classes} classes, 0 to {self.num_classes - 1}"
            )
        return jnp.asarray(target, jnp.int32)

    def _run(self, params, state, x):
        """Every layer's input and cache, and the last output."""
        inputs, caches = [], []
        for layer, p, s in zip(self._layers, params, state):
            inputs.append(x)
            x, _, cache = layer.apply(p, s, x, train=False)
            caches.append(cache)
        return inputs, caches, x

    def _forward_fn(self, params, state, x):
        outputs = []
        for layer, p, s in zip(self._layers, params, state):
            x, _, _ = layer.apply(p, s, x, train=False)
            outputs.append(x[0])
        return tuple(outputs)

    def _backward_fn(self, params, state, x, target):
        """The hand-written chain (eq:serial-chain) from the loss's dscores back to the input."""
        _, caches, scores = self._run(params, state, x)
        loss, dy = softmax_cross_entropy(scores, target[None])
        dscores, dxs, dparams = dy[0], [None] * len(caches), [None] * len(caches)
        for i in reversed(range(len(caches))):
            dy, dparams[i] = self._layers[i].backward(params[i], caches[i], dy)
            dxs[i] = dy[0]
        return loss, dscores, tuple(dxs), tuple(dparams)

    def _compare_fn(self, params, state, x, target):
        """In float64 (call it under `jax.enable_x64(True)`): each layer's backward against
        jax.vjp of its apply on the dy the hand-written chain hands it; the chain's dL/dx
        against jax.grad of the loss through every apply."""
        params, state, x = _as_float64(params), _as_float64(state), x.astype(jnp.float64)
        inputs, caches, scores = self._run(params, state, x)
        _, dy = softmax_cross_entropy(scores, target[None])
        found = [None] * len(caches)
        for i in reversed(range(len(caches))):
            layer, p, s = self._layers[i], params[i], state[i]
            dx, dp = layer.backward(p, caches[i], dy)
            _, vjp = jax.vjp(
                lambda p, x, layer=layer, s=s: layer.apply(p, s, x, train=False)[0], p, inputs[i]
            )
            dp_vjp, dx_vjp = vjp(dy)
            relative = {"dx": _relative(dx, dx_vjp)}
            relative |= {key: _relative(dp[key], dp_vjp[key]) for key in dp_vjp}
            found[i] = (dx_vjp[0], dp_vjp, relative)
            dy = dx

        def loss(x):
            return softmax_cross_entropy(self._run(params, state, x)[2], target[None])[0]

        grad = jax.grad(loss)(x)
        return tuple(found), grad[0], _relative(dy, grad)

    def forward(self, image: np.ndarray) -> Forward:
        """Every layer's output for `image` (in_shape, in [0, 1]), the scores and probabilities."""
        outputs = [np.asarray(y) for y in self._forward(self._params, self._state, self._input(image))]
        scores = outputs[-1].astype(np.float64)
        exp = np.exp(scores - scores.max())  # NOTE: minus the max, no overflow
        return Forward(tuple(outputs), outputs[-1], exp / exp.sum())

    def backward(self, image: np.ndarray, target: int) -> Backward:
        """The loss against class `target` (eq:softmax-loss) and every layer's gradients: the
        hand-written chain (eq:serial-chain) and, in float64, jax.vjp beside it (module docstring).

        Raises:
            ValueError: an image of another shape or with NaN, or a target that is not a class.
        """
        x, label = self._input(image), self._target(target)
        loss, dscores, dxs, dparams = self._backward(self._params, self._state, x, label)
        with jax.enable_x64(True):
            found, grad, grad_relative = self._compare(self._params, self._state, x, label)
            found, grad, grad_relative = jax.device_get((found, grad, grad_relative))
        layers = tuple(
            LayerGradients(
                dx=np.asarray(dx),
                dparams={key: np.asarray(v) for key, v in dp.items()} if isinstance(dp, dict) else {},
                dx_vjp=np.asarray(dx_vjp),
                dparams_vjp={key: np.asarray(v) for key, v in dp_vjp.items()}
                if isinstance(dp_vjp, dict)
                else {},
                relative={key: float(v) for key, v in relative.items()},
            )
            for dx, dp, (dx_vjp, dp_vjp, relative) in zip(dxs, dparams, found)
        )
        return Backward(
            target=int(target),
            loss=float(loss),
            dscores=np.asarray(dscores),
            layers=layers,
            saliency=layers[0].dx,
            saliency_grad=np.asarray(grad),
            saliency_relative=float(grad_relative),
        )
