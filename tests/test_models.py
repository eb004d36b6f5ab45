import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_backward_equals_jax_grad

from fnn import models


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_models_map_images_to_ten_scores(name):
    model = models.MODELS[name]()
    out_shape, params, state = model.init(jax.random.key(0), models.INPUT_SHAPE)
    assert out_shape == (10,)
    y, _, _ = model.apply(params, state, jnp.zeros((3, 28, 28, 1)), train=True, key=jax.random.key(1))
    assert y.shape == (3, 10)
    has_bn = any("mean" in s for s in state if s)
    assert has_bn == (name in ("cnn-bn", "best"))


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_each_models_hand_chained_backward_equals_jax_grad(name, x64):
    """Every ready model, built as its recipe builds it (dropout on), in training mode."""
    model = models.MODELS[name](drop_rate=models.RECIPES[name].drop_rate)
    _, params, state = model.init(jax.random.key(0), models.INPUT_SHAPE)
    rng = np.random.default_rng(len(name))
    x = jnp.asarray(rng.normal(size=(3, *models.INPUT_SHAPE)))
    labels = jnp.asarray(rng.integers(0, 10, 3))
    assert_backward_equals_jax_grad(model, params, state, x, labels, train=True, key=jax.random.key(1))


def test_best_architecture_has_an_extra_padded_3x3_conv_after_each_pooled_block():
    model = models.MODELS["best"]()
    _, params, _ = model.init(jax.random.key(0), models.INPUT_SHAPE)
    block = ["conv2d", "batch_norm", "max_pool2d", "relu", "conv2d", "batch_norm", "relu"]
    assert [layer.kind for layer in model.children] == [
        *block,
        *block,
        "affine",
        "batch_norm",
        "relu",
        "affine",
    ]
    convs = [layer for layer in model.children if layer.kind == "conv2d"]
    assert [c.name for c in convs] == ["conv1", "conv1b", "conv2", "conv2b"]
    assert [dict(c.kwargs).get("padding", 0) for c in convs] == [0, 1, 0, 1]
    shapes = [p["W"].shape for p in params if "W" in p]
    assert shapes == [
        (5, 5, 1, 32),
        (3, 3, 32, 32),
        (5, 5, 32, 64),
        (3, 3, 64, 64),
        (4 * 4 * 64, 256),
        (256, 10),
    ]
    assert sum(x.size for x in jax.tree.leaves(params)) == 364_138
    two = models.small_cnn(extra_convs=2)
    assert [layer.name for layer in two.children if layer.kind == "conv2d"][:3] == [
        "conv1",
        "conv1b",
        "conv1c",
    ]


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


def save_run(folder, meta, *, model="cnn-bn", corrupt=False):
    """A checkpoint as `fnn train` writes it, with random best parameters and non-trivial state."""
    from fnn import checkpoint

    net = models.from_settings({"model": model})
    _, params, state = net.init(jax.random.key(7), models.INPUT_SHAPE)  # not load's template key
    state = jax.tree.map(lambda a: a + 0.5, state)
    if corrupt:
        params[-1]["b"] = params[-1]["b"].at[3].set(jnp.nan)
    best = {"params": params, "state": state}
    checkpoint.save(folder / "checkpoint.npz", {"best": best}, {"model": model, **meta})
    return best


def test_load_returns_the_best_parameters_state_and_pixel_mean(tmp_path):
    import numpy as np

    mean = np.random.default_rng(0).uniform(0, 0.5, (28, 28, 1)).astype(np.float32)
    best = save_run(tmp_path, {"pixel_mean": [float(v) for v in mean.ravel()], "seed": 3})
    for where in (tmp_path, tmp_path / "checkpoint.npz"):  # the run folder or the file
        loaded = models.load(where)
        assert loaded.model.name == "cnn-bn" and loaded.settings["seed"] == 3
        for got, saved in zip(jax.tree.leaves((loaded.params, loaded.state)), jax.tree.leaves(best)):
            np.testing.assert_array_equal(got, saved)
        assert loaded.pixel_mean.dtype == np.float32
        np.testing.assert_array_equal(loaded.pixel_mean, mean)  # float32 -> JSON -> float32 is exact
    save_run(tmp_path, {"pixel_mean": None})
    assert models.load(tmp_path).pixel_mean is None


def test_load_refuses_a_checkpoint_without_a_pixel_mean(tmp_path):
    from fnn import checkpoint

    save_run(tmp_path, {"seed": 1}, model="mlp")
    with pytest.raises(checkpoint.CheckpointError, match="pixel_mean"):
        models.load(tmp_path)


@pytest.mark.parametrize(
    "meta, kwargs, match",
    [
        (
            {"pixel_mean": None},
            {"corrupt": True},
            r"not finite \(\['params'\]\[\d+\]\['b'\]\); the run diverged",
        ),
        ({"pixel_mean": [0.0] * 783}, {}, "pixel_mean is not 784 finite numbers"),
        ({"pixel_mean": ["a"] * 784}, {}, "pixel_mean is not 784 finite numbers"),
    ],
)
def test_load_refuses_a_checkpoint_it_cannot_use(tmp_path, meta, kwargs, match):
    from fnn import checkpoint

    save_run(tmp_path, meta, **kwargs)
    with pytest.raises(checkpoint.CheckpointError, match=match) as error:
        models.load(tmp_path)
    assert str(error.value).startswith(str(tmp_path / "checkpoint.npz"))


def test_load_names_the_file_of_an_unknown_model_or_a_missing_checkpoint(tmp_path):
    from fnn import checkpoint

    checkpoint.save(tmp_path / "checkpoint.npz", {}, {"model": "resnet"})
    with pytest.raises(checkpoint.CheckpointError, match=r"checkpoint.npz: model must be one of .*'resnet'"):
        models.load(tmp_path)
    with pytest.raises(checkpoint.CheckpointError, match="no checkpoint at .*elsewhere"):
        models.load(tmp_path / "elsewhere")
