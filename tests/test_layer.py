"""serial and the custom_vjp bridge: the hand-chained backward of a whole network
equals jax.grad of the same loss."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_backward_equals_jax_grad

import fnn
from fnn import layers
from fnn.gradcheck import check_layer, distinct_inputs
from fnn.losses import softmax_cross_entropy


def small_cnn(impl):
    return fnn.serial(
        layers.conv2d(4, 3, padding=1, impl=impl),
        layers.batch_norm(),
        layers.relu(),
        layers.max_pool2d(2),
        layers.conv2d(5, 3, stride=2, padding=1, impl=impl),
        layers.leaky_relu(0.1),
        layers.avg_pool2d(2, stride=1),
        layers.dropout(0.2),
        layers.flatten(),
        layers.affine(6),
        layers.batch_norm(),
        layers.tanh(),
        layers.affine(3),
    )


@pytest.mark.parametrize(
    "impl", [pytest.param("direct", marks=pytest.mark.slow), "im2col", "xla"]
)  # direct: slow to compile
@pytest.mark.parametrize("train", [True, False])
def test_whole_network_manual_gradient_equals_jax_grad_of_the_loss(impl, train, x64):
    model = small_cnn(impl)
    rng = np.random.default_rng(0)
    _, params, state = model.init(jax.random.key(0), (8, 7, 2))
    x = jnp.asarray(distinct_inputs(rng, (5, 8, 7, 2)))
    labels = jnp.asarray(rng.integers(0, 3, 5))
    assert_backward_equals_jax_grad(model, params, state, x, labels, train=train, key=jax.random.key(1))


def test_serial_is_a_layer_and_passes_gradcheck():
    model = fnn.serial(layers.affine(4), layers.sigmoid(), layers.affine(2))
    report = check_layer(model, (3,), batch=3)
    assert report.ok(), report
    assert {e.name for e in report.errors} == {"dx", "0/W", "0/b", "2/W", "2/b"}


def test_serial_threads_state_and_shapes():
    model = fnn.serial(layers.conv2d(3, 3), layers.batch_norm(), layers.flatten(), layers.affine(2))
    out_shape, params, state = model.init(jax.random.key(0), (6, 6, 1))
    assert out_shape == (2,)
    assert state[1].keys() == {"mean", "var"} and state[0] == {}
    x = jax.random.normal(jax.random.key(1), (4, 6, 6, 1))
    y, new_state, _ = model.apply(params, state, x, train=True)
    assert y.shape == (4, 2)
    assert not np.allclose(new_state[1]["mean"], state[1]["mean"])
    with pytest.raises(TypeError, match="Layers"):
        fnn.serial(layers.relu(), "relu")


def test_with_manual_vjp_makes_jax_grad_use_the_hand_written_backward(x64):
    model = small_cnn("im2col")
    _, params, state = model.init(jax.random.key(0), (8, 7, 2))
    x = jax.random.normal(jax.random.key(1), (3, 8, 7, 2))
    labels = jnp.array([0, 2, 1])
    key = jax.random.key(2)
    bridged = fnn.with_manual_vjp(model, train=True)

    def loss_bridged(p, x):
        return softmax_cross_entropy(bridged(p, state, x, key)[0], labels)[0]

    def loss_plain(p, x):
        return softmax_cross_entropy(model.apply(p, state, x, train=True, key=key)[0], labels)[0]

    got = jax.jit(jax.grad(loss_bridged, argnums=(0, 1)))(params, x)
    want = jax.jit(jax.grad(loss_plain, argnums=(0, 1)))(params, x)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)


def test_with_manual_vjp_really_calls_backward():
    """A deliberately wrong backward must show through jax.grad of the bridge."""
    relu = layers.relu()
    wrong = relu._replace(backward=lambda params, cache, dy: (2 * dy, {}))
    f = fnn.with_manual_vjp(wrong)
    g = jax.grad(lambda x: f({}, {}, x)[0].sum())(jnp.array([1.0, -1.0]))
    np.testing.assert_array_equal(g, [2.0, 2.0])
    batched = jax.vmap(jax.grad(lambda x: fnn.with_manual_vjp(relu)({}, {}, x)[0].sum()))(
        jnp.array([[1.0, -1.0]])
    )
    np.testing.assert_array_equal(batched, [[1.0, 0.0]])


def test_layers_and_optimizers_print_as_the_call_that_made_them():
    from fnn import layers, models, optim

    assert repr(layers.conv2d(8, 3, padding=1, name="conv1")) == "conv2d(8, 3, padding=1, name='conv1')"
    assert repr(layers.relu()) == "relu()"
    model = models.mlp((16,))
    assert repr(model).startswith("serial(\n  flatten(),\n  affine(16,") and "name='mlp'" in repr(model)
    assert repr(fnn.serial(layers.relu(), layers.flatten())) == "serial(relu(), flatten(), name='serial')"
    assert isinstance(model, fnn.Layer) and model._fields[:4] == ("name", "init", "apply", "backward")
    schedule = optim.make_schedule(0.1, total_steps=10)
    assert repr(optim.momentum(schedule, mu=0.8)) == "momentum(make_schedule(0.1, total_steps=10), mu=0.8)"
    init, update = optim.sgd(0.1)  # still a GradientTransformation: unpacks as optax's
    assert callable(init) and callable(update)


def test_a_layer_declares_its_call_its_children_and_its_equations():
    from fnn.layers.activations import ActivationCache

    conv, relu = layers.conv2d(8, 3, padding=1, name="conv1"), layers.relu()
    assert type(conv) is fnn.Layer  # a plain record: nothing is built at run time
    assert (conv.kind, conv.args, conv.kwargs) == ("conv2d", (8, 3), (("padding", 1), ("name", "conv1")))
    assert conv.children == () and relu.equations == ((ActivationCache, ("eq:relu-dx",)),)
    model = fnn.serial(conv, relu, name="net")
    assert (model.kind, model.children, model.kwargs) == ("serial", (conv, relu), (("name", "net"),))
    assert repr(model) == "serial(conv2d(8, 3, padding=1, name='conv1'), relu(), name='net')"
    assert repr(relu._replace(kind="rectifier")) == "rectifier()"  # the text comes from the fields


def test_a_hand_made_layer_keeps_working_and_prints_its_name():
    relu = layers.relu()
    mine = fnn.Layer("my_relu", relu.init, relu.apply, relu.backward)
    assert mine == fnn.Layer(name="my_relu", init=relu.init, apply=relu.apply, backward=relu.backward)
    assert (mine.kind, mine.args, mine.kwargs, mine.children, mine.equations) == ("", (), (), (), ())
    assert repr(mine) == "Layer('my_relu')"
    assert repr(fnn.serial(mine, mine, mine)) == (
        "serial(\n  Layer('my_relu'),\n  Layer('my_relu'),\n  Layer('my_relu'),\n  name='serial',\n)"
    )
    y, _, cache = fnn.serial(mine, layers.flatten()).apply(({}, {}), ({}, {}), jnp.array([[-1.0, 2.0]]))
    np.testing.assert_array_equal(y, [[0.0, 2.0]])
    assert check_layer(mine, (3,)).ok()  # the gradient check needs no more than the four functions


def test_summary_reads_children_and_kind_from_the_record():
    import io

    relu = layers.relu()
    mine = fnn.Layer("my_relu", relu.init, relu.apply, relu.backward)
    inner = fnn.serial(layers.affine(4, name="fc"), mine, name="block")
    # a container is whatever has children, and a kind is a field, whatever the layer prints as
    block = inner._replace(kind="", args=())
    text = fnn.summary(fnn.serial(block, relu._replace(kind="rectifier")), (3,), file=io.StringIO())
    rows = [line.split() for line in text.splitlines()[1:-1]]
    assert rows == [
        ["fc", "affine", "(4,)", "16"],
        ["my_relu", "Layer", "(4,)", "0"],
        ["relu", "rectifier", "(4,)", "0"],
    ]


def test_summary_lists_each_layer_with_its_shape_and_parameter_count(capsys):
    from fnn import models

    model = models.cnn(batch_norm=True)
    text = fnn.summary(model, (28, 28, 1))
    assert capsys.readouterr().out.strip() == text
    _, params, state = model.init(jax.random.key(0), (28, 28, 1))
    total = sum(a.size for a in jax.tree.leaves(params))
    assert f"{total:,} parameters" in text and "448 state values" in text
    rows = text.splitlines()[1:-1]
    assert len(rows) == 12 and rows[0].split()[:3] == ["conv1", "conv2d", "(28,"]
    assert rows[-1].split()[-1] == "1,290"  # scores: 128 * 10 + 10


def test_import_fnn_gives_every_submodule_on_first_use():
    import importlib
    import subprocess
    import sys

    code = (
        "import fnn, sys; fnn.optim.momentum(0.1); print('fnn.optim' in sys.modules, fnn.models.INPUT_SHAPE)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split()[0] == "True"
    assert importlib.import_module("fnn").train is importlib.import_module("fnn.train")
