import jax
import jax.numpy as jnp
import pytest

from fnn import models


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_models_map_images_to_ten_scores(name):
    model = models.MODELS[name]()
    out_shape, params, state = model.init(jax.random.key(0), models.INPUT_SHAPE)
    assert out_shape == (10,)
    y, _, _ = model.apply(params, state, jnp.zeros((3, 28, 28, 1)), train=True, key=jax.random.key(1))
    assert y.shape == (3, 10)
    has_bn = any("mean" in s for s in state if s)
    assert has_bn == (name == "cnn-bn")


def test_cnn_architecture_and_parameter_count():
    model = models.cnn()
    _, params, _ = model.init(jax.random.key(0), models.INPUT_SHAPE)
    shapes = [p["W"].shape for p in params if "W" in p]
    assert shapes == [(3, 3, 1, 32), (3, 3, 32, 64), (7 * 7 * 64, 128), (128, 10)]
    assert sum(x.size for x in jax.tree.leaves(params)) == 320 + 18496 + 401536 + 1290


def test_mlp_options():
    model = models.mlp((64, 32), batch_norm=True, drop_rate=0.5)
    _, params, state = model.init(jax.random.key(0), models.INPUT_SHAPE)
    assert [p["W"].shape for p in params if "W" in p] == [(784, 64), (64, 32), (32, 10)]
    with pytest.raises(ValueError, match="key"):
        model.apply(params, state, jnp.zeros((2, 28, 28, 1)), train=True)
    assert set(models.RECIPES) == set(models.MODELS)
