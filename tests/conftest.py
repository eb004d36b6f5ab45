"""Shared fixtures. The suite runs in float32, as users do; gradient checks switch to float64."""

import jax
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "fnn",
    deadline=None,
    max_examples=12,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("fnn")


@pytest.fixture
def x64():
    """Run the test body with 64-bit floats (gradient checks only)."""
    with jax.enable_x64(True):
        yield


def synthetic_arrays(n_train=300, n_test=100, seed=0):
    """Learnable fake MNIST as uint8 rows of 784: each class lights its own 4-pixel-wide band."""
    import numpy as np

    rng = np.random.default_rng(seed)

    def make(n):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, c in enumerate(labels):
            images[i, :, 2 + 2 * c : 6 + 2 * c] = 200
        return images.reshape(n, 784), labels

    return (*make(n_train), *make(n_test))


@pytest.fixture
def tiny_mnist():
    """A small MNIST-shaped dataset (MNIST NamedTuple) built from synthetic_arrays."""
    import numpy as np

    from fnn.data import MNIST, Split

    x_train, y_train, x_test, y_test = synthetic_arrays()

    def split(x, y):
        return Split((x / 255.0).astype(np.float32).reshape(-1, 28, 28, 1), y.astype(np.int32))

    return MNIST(
        split(x_train[:250], y_train[:250]),
        split(x_train[250:], y_train[250:]),
        split(x_test, y_test),
        None,
        "synthetic",
    )
