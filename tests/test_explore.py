"""fnn.explore: a model's forward and backward on one image, layer by layer, against jax.vjp
and jax.grad. A small CNN with batch norm and dropout (2 and 3 channels) keeps it fast; the
image is a digit on a black background, so max-pool windows tie and ReLUs sit at their kinks,
as on every real digit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fnn import layers, serial
from fnn.explore import CHAIN_LABELS, LOSS_LABELS, Explorer, leaves
from fnn.losses import softmax_cross_entropy
from fnn.models import cnn


@pytest.fixture(scope="module")
def explorer():
    model = cnn(batch_norm=True, channels=(2, 3), hidden=8, drop_rate=0.5)
    _, params, state = model.init(jax.random.key(1), (28, 28, 1))
    # running statistics other than the initial 0 and 1, so that eval-mode batch norm does something
    state = jax.tree.map(lambda a: a + 0.3 * jax.random.uniform(jax.random.key(2), a.shape), state)
    mean = np.random.default_rng(0).uniform(0, 0.2, (28, 28, 1)).astype(np.float32)
    return Explorer(model, params, state, mean), model, params, state, mean


def digit() -> np.ndarray:
    image = np.zeros((28, 28, 1), np.float32)
    image[4:24, 12:16] = 1.0
    image[4:8, 8:12] = 0.5
    return image


def test_layers_describe_each_layer_with_its_equations(explorer):
    ex, model, *_ = explorer
    names = [info.name for info in ex.layers]
    assert names == ["conv1", "batch_norm1", "relu", "max_pool2d", "conv2", "batch_norm2", "relu", "max_pool2d",
                     "affine1", "batch_norm3", "relu", "dropout", "scores"]  # fmt: skip
    assert [info.call for info in ex.layers] == [repr(layer) for layer in model.children]
    assert ex.layers[0].in_shape == (28, 28, 1) and ex.layers[0].out_shape == (28, 28, 2)
    assert ex.layers[0].param_shapes == {"W": (3, 3, 1, 2), "b": (2,)}
    assert ex.layers[3].param_shapes == {} and ex.layers[3].equations == ("eq:maxpool-dx",)
    assert ex.layers[1].equations == ("eq:bn-dbeta", "eq:bn-dgamma", "eq:bn-dx-eval")  # test mode
    assert ex.layers[11].equations == ("eq:dropout-dx",)
    assert ex.num_classes == 10 and LOSS_LABELS == ("eq:softmax-loss", "eq:softmax-dscores")
    assert CHAIN_LABELS == ("eq:serial-chain",)


def test_forward_is_the_models_own_test_mode_pass(explorer):
    ex, model, params, state, mean = explorer
    result = ex.forward(digit())
    scores, _, _ = jax.jit(lambda p, s, x: model.apply(p, s, x, train=False))(
        params, state, (digit() - mean)[None]
    )
    np.testing.assert_allclose(result.scores, scores[0], rtol=1e-5, atol=1e-6)
    assert [y.shape for y in result.outputs] == [info.out_shape for info in ex.layers]
    p = np.exp(scores[0] - scores[0].max())
    np.testing.assert_allclose(result.probabilities, p / p.sum(), rtol=1e-5)
    assert result.probabilities.dtype == np.float64 and abs(result.probabilities.sum() - 1) < 1e-12


def test_backward_is_the_hand_written_chain_and_equals_autodiff(explorer):
    ex, model, params, state, mean = explorer
    result = ex.backward(digit(), 4)
    x = jnp.asarray((digit() - mean)[None])

    def loss(params, x):
        return softmax_cross_entropy(model.apply(params, state, x, train=False)[0], jnp.array([4]))[0]

    value, (dparams, dx) = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))(params, x)
    assert result.target == 4 and result.loss == pytest.approx(float(value), rel=1e-5)
    np.testing.assert_allclose(result.saliency, dx[0], rtol=1e-4, atol=1e-7)
    for grads, expected in zip(result.layers, dparams):
        for key in expected:
            np.testing.assert_allclose(grads.dparams[key], expected[key], rtol=1e-3, atol=1e-7)
    assert result.dscores.shape == (10,) and abs(result.dscores.sum()) < 1e-6
    assert result.layers[0].dx.dtype == np.float32 and result.layers[0].dx_vjp.dtype == np.float64
    assert result.saliency_grad.dtype == np.float64 and result.saliency_grad.shape == (28, 28, 1)


def test_every_layer_equals_jax_vjp_in_float64_despite_ties_and_kinks(explorer):
    ex, *_ = explorer
    for target in (0, 7):
        result = ex.backward(digit(), target)
        for info, grads in zip(ex.layers, result.layers):
            assert set(grads.relative) == {"dx", *info.param_shapes}, info.name
            assert max(grads.relative.values()) < 1e-9, (info.name, grads.relative)
            np.testing.assert_allclose(grads.dx, grads.dx_vjp, rtol=1e-4, atol=1e-8)
        assert result.saliency_relative < 1e-9 and result.max_relative() < 1e-9
        np.testing.assert_allclose(result.saliency, result.saliency_grad, rtol=1e-4, atol=1e-8)
    pooled = ex.forward(digit()).outputs[2]  # relu after conv1 and batch norm: flat regions tie
    assert (pooled == 0).any() or len(np.unique(pooled)) < pooled.size


def test_a_wrong_backward_shows_up_in_the_relative_difference():
    """A layer whose backward doubles dx: its row, and no other, reports the error."""
    relu = layers.relu()
    broken = relu._replace(
        name="broken", backward=lambda p, cache, dy: (2 * relu.backward(p, cache, dy)[0], {})
    )
    model = serial(layers.flatten(), layers.affine(16, name="a"), broken, layers.affine(10, name="scores"))
    _, params, state = model.init(jax.random.key(0), (28, 28, 1))
    result = Explorer(model, params, state).backward(digit(), 3)
    relative = [max(g.relative.values()) for g in result.layers]
    assert relative[2] == pytest.approx(1.0) and max(relative[:2] + relative[3:]) < 1e-9
    assert result.saliency_relative > 0.1  # the chain carries the error to the input


def test_leaves_flatten_nested_serials():
    inner = serial(layers.affine(4, name="a"), layers.relu(), name="inner")
    model = serial(layers.flatten(), inner, layers.affine(3, name="out"))
    _, params, state = model.init(jax.random.key(0), (2, 2, 1))
    found = leaves(model, params, state)
    assert [layer.name for layer, _, _ in found] == ["flatten", "a", "relu", "out"]
    assert found[1][1]["W"].shape == (4, 4)
    ex = Explorer(model, params, state, in_shape=(2, 2, 1))
    assert ex.num_classes == 3 and len(ex.backward(np.ones((2, 2, 1), np.float32), 2).layers) == 4


def test_bad_images_and_classes_are_refused_with_their_values(explorer):
    ex, *_ = explorer
    with pytest.raises(ValueError, match=r"expected an image of shape \(28, 28, 1\), got \(28, 28\)"):
        ex.forward(np.zeros((28, 28)))
    with pytest.raises(ValueError, match="NaN or Inf"):
        ex.forward(np.full((28, 28, 1), np.nan))
    for target, message in ((10, "class 10 is out of range: the model has 10 classes, 0 to 9"),
                            (-1, "out of range"), (True, "must be an int"), (2.0, "must be an int")):  # fmt: skip
        with pytest.raises(ValueError, match=message):
            ex.backward(digit(), target)
    with pytest.raises(ValueError, match="vector of class scores"):
        Explorer(serial(layers.relu()), ({},), ({},))


def test_compiled_once_per_explorer(explorer):
    ex, *_ = explorer
    ex.backward(digit(), 1)
    sizes = (ex._forward._cache_size(), ex._backward._cache_size(), ex._compare._cache_size())
    ex.forward(digit() * 0.5)
    ex.backward(digit() * 0.5, 9)  # another image and class: no new compilation
    assert (
        (ex._forward._cache_size(), ex._backward._cache_size(), ex._compare._cache_size())
        == sizes
        == (1, 1, 1)
    )
