from types import SimpleNamespace
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fnn import checkpoint, models, optim
from fnn.data import MNIST, Split
from fnn.losses import softmax_cross_entropy
from fnn.step import init_train_state, make_epoch, make_train_step
from fnn.train import DivergedError, Interrupted, best_epoch, fit, make_evaluate, predict


def small_cnn(**kw):
    return models.cnn(channels=(4, 8), hidden=16, **kw)


def leaves_equal(a, b, rtol=0.0, atol=0.0):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


@pytest.mark.parametrize(
    "make_model", [lambda: small_cnn(batch_norm=True, drop_rate=0.2), lambda: models.mlp((32, 16))]
)
def test_manual_and_autodiff_steps_give_the_same_parameters_after_20_steps(tiny_mnist, make_model):
    model = make_model()
    opt = optim.momentum(0.05)
    x, labels = jnp.asarray(tiny_mnist.train.x[:32]), jnp.asarray(tiny_mnist.train.labels[:32])
    states = {}
    for gradients in ("manual", "autodiff"):
        step = make_train_step(model, softmax_cross_entropy, opt, gradients)
        ts = init_train_state(model, opt, (28, 28, 1), seed=1)
        for _ in range(20):
            ts, (loss, _) = step(ts, x, labels)
        states[gradients] = ts
    assert float(loss) < 1.0  # it learned something
    leaves_equal(states["manual"].params, states["autodiff"].params, rtol=2e-4, atol=2e-5)
    leaves_equal(states["manual"].state, states["autodiff"].state, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("driver", ["step", "scan"])
def test_two_epochs_compile_the_step_once_and_drivers_agree(tiny_mnist, driver):
    model = models.mlp((16,))
    opt = optim.sgd(0.1)
    epoch = make_epoch(model, softmax_cross_entropy, opt, batch_size=32, driver=driver)
    ts = init_train_state(model, opt, (28, 28, 1))
    x, labels = jnp.asarray(tiny_mnist.train.x), jnp.asarray(tiny_mnist.train.labels)
    for e in range(2):
        ts, losses, correct = epoch.run(ts, x, labels, jax.random.key(e))
    assert losses.shape == (250 // 32,)  # the partial batch is dropped
    assert int(ts.opt_state.count) == 2 * (250 // 32)  # the step is counted in one place
    for compiled in epoch.compiled:
        assert compiled._cache_size() == 1
    other = make_epoch(
        model, softmax_cross_entropy, opt, batch_size=32, driver="scan" if driver == "step" else "step"
    )
    ts2 = init_train_state(model, opt, (28, 28, 1))
    for e in range(2):
        ts2, _, _ = other.run(ts2, x, labels, jax.random.key(e))
    leaves_equal(ts.params, ts2.params, rtol=1e-5, atol=1e-6)


def test_evaluate_handles_a_partial_last_batch(tiny_mnist):
    model = models.mlp((16,))
    _, params, state = model.init(jax.random.key(0), (28, 28, 1))
    x, labels = jnp.asarray(tiny_mnist.test.x), jnp.asarray(tiny_mnist.test.labels)
    loss, accuracy = make_evaluate(model, batch_size=32)(params, state, x, labels)  # 100 = 3*32 + 4
    scores = model.apply(params, state, x)[0]
    np.testing.assert_allclose(loss, float(softmax_cross_entropy(scores, labels)[0]), rtol=1e-5)
    assert accuracy == pytest.approx(float((scores.argmax(1) == labels).mean()))


def test_fit_learns_records_history_and_keeps_the_best(tiny_mnist, tmp_path):
    model = small_cnn()
    result = fit(
        model, tiny_mnist, optim.momentum(0.05), epochs=3, batch_size=25, checkpoint_path=tmp_path / "c.npz"
    )
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    assert result.history[-1]["val_accuracy"] > 0.8
    best = max(result.history, key=lambda h: h["val_accuracy"])
    loss, acc = make_evaluate(model)(
        result.best_params,
        result.best_state,
        jnp.asarray(tiny_mnist.validation.x),
        jnp.asarray(tiny_mnist.validation.labels),
    )
    assert acc == pytest.approx(best["val_accuracy"])
    assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds"} <= set(result.history[0])
    assert checkpoint.read_meta(tmp_path / "c.npz")["epochs_done"] == 3


def test_resume_is_bit_exact(tiny_mnist, tmp_path):
    model = small_cnn(batch_norm=True, drop_rate=0.3)

    def run(epochs, path, resume=False):
        opt = optim.make_optimizer("momentum", 0.05, total_steps=4 * 10, warmup_steps=5)
        return fit(
            model, tiny_mnist, opt, epochs=epochs, batch_size=25, seed=7, checkpoint_path=path, resume=resume
        )

    straight = run(4, tmp_path / "a.npz")
    run(2, tmp_path / "b.npz")
    resumed = run(4, tmp_path / "b.npz", resume=True)
    for a, b in zip(jax.tree.leaves(straight.train_state), jax.tree.leaves(resumed.train_state)):
        a, b = (
            jax.random.key_data(v) if jax.dtypes.issubdtype(v.dtype, jax.dtypes.prng_key) else v
            for v in (a, b)
        )
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert [h["train_loss"] for h in straight.history] == [h["train_loss"] for h in resumed.history]


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint(tiny_mnist, tmp_path):
    bad = tiny_mnist.train.x.copy()
    data = MNIST(
        Split(bad, tiny_mnist.train.labels), tiny_mnist.validation, tiny_mnist.test, None, "synthetic"
    )
    path = tmp_path / "c.npz"
    schedule = lambda step: jnp.where(step < 10, 0.01, 1e30)  # noqa: E731  explodes in epoch 2
    with pytest.raises(DivergedError, match=r"epoch 2.*keeps epoch 1"):
        fit(models.mlp((16,)), data, optim.sgd(schedule), epochs=3, batch_size=25, checkpoint_path=path)
    meta = checkpoint.read_meta(path)
    assert meta["epochs_done"] == 1 and np.isfinite(meta["history"][0]["train_loss"])


def test_a_non_finite_update_on_an_epochs_last_step_is_never_saved(tiny_mnist, tmp_path):
    path = tmp_path / "c.npz"
    steps = 250 // 25
    schedule = lambda step: jnp.where(step == 2 * steps - 1, jnp.nan, 0.01)  # noqa: E731  last step of epoch 2
    with pytest.raises(DivergedError, match=rf"epoch 2: the parameters .* step {steps} .*keeps epoch 1") as e:
        fit(models.mlp((16,)), tiny_mnist, optim.sgd(schedule), epochs=3, batch_size=25, checkpoint_path=path)
    assert (e.value.epoch, e.value.step, e.value.checkpoint_epoch) == (2, steps, 1)
    restored, meta = checkpoint.load(path, _template(tiny_mnist))
    assert meta["epochs_done"] == 1
    assert not checkpoint.nonfinite(restored)


def _template(data):
    model, opt = models.mlp((16,)), optim.sgd(0.01)
    ts = init_train_state(model, opt, data.train.x.shape[1:])
    return {"train_state": ts, "best": {"params": ts.params, "state": ts.state}}


def test_divergence_in_the_first_epoch_says_no_checkpoint_exists(tiny_mnist, tmp_path):
    schedule = lambda step: jnp.where(step < 3, 0.01, jnp.inf)  # noqa: E731
    with pytest.raises(
        DivergedError, match=r"epoch 1: the training loss became nan at step 5 .*no checkpoint"
    ):
        fit(
            models.mlp((16,)),
            tiny_mnist,
            optim.sgd(schedule),
            epochs=2,
            batch_size=25,
            checkpoint_path=tmp_path / "c.npz",
        )
    assert not (tmp_path / "c.npz").exists()


def test_without_a_validation_split_the_best_epoch_is_the_last(tiny_mnist):
    empty = Split(tiny_mnist.validation.x[:0], tiny_mnist.validation.labels[:0])
    data = tiny_mnist._replace(validation=empty)
    result = fit(models.mlp((16,)), data, optim.sgd(0.05), epochs=2, batch_size=25)
    assert [h["val_accuracy"] for h in result.history] == [None, None]
    assert best_epoch(result.history) == 2 and [h["epochs"] for h in result.history] == [2, 2]
    leaves_equal(result.best_params, result.train_state.params)
    with pytest.raises(ValueError, match="patience needs a validation split"):
        fit(models.mlp((16,)), data, optim.sgd(0.05), epochs=2, batch_size=25, patience=1)


def test_an_interrupt_names_the_epoch_and_the_intact_checkpoint(tiny_mnist, tmp_path):
    def log(record):
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    path = tmp_path / "c.npz"
    with pytest.raises(Interrupted) as e:
        fit(
            models.mlp((16,)),
            tiny_mnist,
            optim.sgd(0.05),
            epochs=3,
            batch_size=25,
            checkpoint_path=path,
            log=log,
        )
    assert isinstance(e.value, KeyboardInterrupt) and (e.value.epoch, e.value.checkpoint_epoch) == (2, 2)
    assert checkpoint.read_meta(path)["epochs_done"] == 2


def test_early_stopping(tiny_mnist):
    result = fit(models.mlp((16,)), tiny_mnist, optim.sgd(1e-6), epochs=10, batch_size=50, patience=2)
    assert result.stopped_early and len(result.history) < 10


def test_bad_fit_arguments(tiny_mnist):
    with pytest.raises(ValueError, match="epochs"):
        fit(models.mlp((4,)), tiny_mnist, optim.sgd(0.1), epochs=0)
    with pytest.raises(ValueError, match="batch_size"):
        fit(models.mlp((4,)), tiny_mnist, optim.sgd(0.1), epochs=1, batch_size=10**6)
    with pytest.raises(ValueError, match="gradients"):
        make_train_step(models.mlp((4,)), softmax_cross_entropy, optim.sgd(0.1), "numeric")
    epoch = make_epoch(models.mlp((4,)), softmax_cross_entropy, optim.sgd(0.1), batch_size=10)
    with pytest.raises(ValueError, match="batch size"):
        fit(models.mlp((4,)), tiny_mnist, optim.sgd(0.1), epochs=1, batch_size=20, epoch=epoch)


def test_records_carry_the_learning_rate_the_optimizer_state_records(tiny_mnist):
    schedule = optim.make_schedule(0.1, total_steps=20, warmup_steps=4)
    for optimizer in (
        optim.sgd(schedule),
        optim.chain(optim.add_decayed_weights(1e-4), optim.momentum(schedule)),
    ):
        result = fit(models.mlp((8,)), tiny_mnist, optimizer, epochs=2, batch_size=25, log=None)
        for e, record in enumerate(result.history):  # 10 steps per epoch: the last is step 10 e + 9
            assert record["lr"] == pytest.approx(float(schedule(jnp.int32(10 * e + 9))), rel=1e-6)
    assert (
        "lr"
        not in fit(
            models.mlp((8,)), tiny_mnist, optim.clip_by_global_norm(1.0), epochs=1, batch_size=25, log=None
        ).history[0]
    )


@pytest.mark.parametrize(
    "change, match",
    [
        (
            lambda d: d._replace(train=d.train._replace(labels=d.train.labels[:10])),
            "train split has 250 images but labels of shape",
        ),
        (
            lambda d: d._replace(train=d.train._replace(labels=d.train.labels + 5)),
            r"train split's labels must lie in \[0, 10\)",
        ),
        (
            lambda d: d._replace(test=d.test._replace(labels=d.test.labels.astype(np.float32))),
            "test split's labels have dtype float32",
        ),
        (
            lambda d: d._replace(validation=d.validation._replace(x=d.validation.x[:, :14])),
            "validation split's images have shape",
        ),
    ],
)
def test_fit_refuses_splits_it_cannot_train_on(tiny_mnist, change, match):
    from fnn.data import DataError

    with pytest.raises(DataError, match=match):
        fit(models.mlp((4,)), change(tiny_mnist), optim.sgd(0.1), epochs=1, batch_size=25, log=None)


def test_fit_refuses_what_is_not_an_optimizer(tiny_mnist):
    with pytest.raises(TypeError, match="optimizer must have init and update.*'sgd'"):
        fit(models.mlp((4,)), tiny_mnist, "sgd", epochs=1, batch_size=25, log=None)


def test_best_epoch_is_the_highest_validation_accuracy_earliest_on_ties():
    history = [{"epoch": e, "val_accuracy": a} for e, a in [(1, 0.5), (2, 0.9), (3, 0.9), (4, 0.7)]]
    assert best_epoch(history) == 2


class SignSgdState(NamedTuple):
    count: jax.Array


def sign_sgd(lr):
    """A foreign optimizer: only optax's protocol (init, update), nothing from fnn.optim."""

    def init(params):
        return SignSgdState(jnp.zeros((), jnp.int32))

    def update(grads, state, params=None):
        return jax.tree.map(lambda g: -lr * jnp.sign(g), grads), SignSgdState(state.count + 1)

    return SimpleNamespace(init=init, update=update)


def test_fit_accepts_any_optimizer_in_the_optax_protocol(tiny_mnist):
    model = models.mlp((8,))
    result = fit(model, tiny_mnist, sign_sgd(1e-3), epochs=1, batch_size=50)
    _, start, _ = model.init(jax.random.split(jax.random.key(0))[0], (28, 28, 1))
    for before, after in zip(jax.tree.leaves(start), jax.tree.leaves(result.train_state.params)):
        steps = np.abs(np.asarray(after) - np.asarray(before)) / 1e-3  # |sum of 5 signs| per entry
        np.testing.assert_allclose(steps, np.round(steps), atol=1e-2)
        assert steps.max() <= 5 + 1e-2
    assert int(result.train_state.opt_state.count) == 5


def test_predict_matches_apply_in_batches(tiny_mnist):
    model = models.mlp((8,))
    _, params, state = model.init(jax.random.key(0), (28, 28, 1))
    scores = predict(model, params, state, tiny_mnist.test.x, batch_size=30)
    np.testing.assert_allclose(
        scores, model.apply(params, state, jnp.asarray(tiny_mnist.test.x))[0], rtol=1e-5, atol=1e-6
    )


def test_augmentation_runs_inside_the_step_seeded_and_identity_at_zero_strength(tiny_mnist):
    from fnn.augment import augmentation

    model, opt = models.mlp((16,)), optim.sgd(0.1)

    def fitted(augment, driver="step", seed=0):
        epoch = make_epoch(model, softmax_cross_entropy, opt, batch_size=32, driver=driver, augment=augment)
        ts = init_train_state(model, opt, (28, 28, 1), seed=seed)
        x, labels = jnp.asarray(tiny_mnist.train.x), jnp.asarray(tiny_mnist.train.labels)
        return epoch.run(ts, x, labels, jax.random.key(seed))[0].params

    plain = fitted(None)
    leaves_equal(fitted(augmentation()), plain)  # zero strength: the same arithmetic, bit for bit
    strong = augmentation(rotation=30.0, shift=0.2)
    once = fitted(strong)
    leaves_equal(fitted(strong), once)  # seeded: the same key, the same images
    with pytest.raises(AssertionError):
        leaves_equal(once, plain)  # and it does change what the model sees
    leaves_equal(fitted(strong, driver="scan"), once, rtol=1e-5, atol=1e-6)  # both drivers draw alike


def test_fit_augments_the_images_as_read_not_the_centred_ones(tiny_mnist):
    mean = tiny_mnist.train.x.mean(axis=0)
    centred = tiny_mnist._replace(
        train=tiny_mnist.train._replace(x=tiny_mnist.train.x - mean),
        validation=tiny_mnist.validation._replace(x=tiny_mnist.validation.x - mean),
        test=tiny_mnist.test._replace(x=tiny_mnist.test.x - mean),
        pixel_mean=mean,
    )
    seen = []

    def spy(key, x):
        jax.debug.callback(lambda v: seen.append(float(v)), x.min())
        return x

    fit(models.mlp((8,)), centred, optim.sgd(0.1), epochs=1, batch_size=50, augment=spy, log=None)
    assert seen and min(seen) >= 0.0  # pixels in [0, 1]: the mean was added back before augmenting
    with pytest.raises(ValueError, match="give augment to make_epoch"):
        epoch = make_epoch(models.mlp((8,)), softmax_cross_entropy, optim.sgd(0.1), batch_size=50)
        fit(models.mlp((8,)), centred, optim.sgd(0.1), epochs=1, batch_size=50, epoch=epoch, augment=spy)
