"""Shared fixtures. The suite runs in float32, as users do; gradient checks switch to float64.

Speed of the default suite (`python -m pytest -q`, about 2.5 minutes on 2 cores):
- two pytest-xdist workers (pyproject's addopts), each taking whole test files;
- JAX's persistent compilation cache: compiled programs are kept in `.jax_cache/` (or
  $FNN_TEST_JAX_CACHE) across test sessions, so a second run compiles little (`fnn` commands
  the tests start as subprocesses keep theirs there too, not in the user's cache);
- hypothesis profiles: "fnn" (the default) draws 4 random configurations per property;
  "thorough" draws 25 (`.ci/run` runs the property tests again with
  `-m hypothesis --hypothesis-profile thorough`).
"""

import os
from pathlib import Path

import jax
import pytest
from hypothesis import HealthCheck, settings

_CACHE = os.environ.get("FNN_TEST_JAX_CACHE", str(Path(__file__).resolve().parent.parent / ".jax_cache"))
jax.config.update("jax_compilation_cache_dir", _CACHE)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.05)
os.environ.setdefault("FNN_COMPILE_CACHE", _CACHE)  # `fnn` run as a subprocess shares it

_COMMON = {
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}
settings.register_profile("fnn", max_examples=4, **_COMMON)
settings.register_profile("thorough", max_examples=25, **_COMMON)
settings.load_profile("fnn")


@pytest.fixture
def x64():
    """Run the test body with 64-bit floats (gradient checks only)."""
    with jax.enable_x64(True):
        yield


def assert_backward_equals_jax_grad(model, params, state, x, labels, *, train, key):
    """The network's hand-chained backward of the cross-entropy loss equals jax.grad of it, leaf
    by leaf, to fnn.gradcheck's float64 tolerance (call inside the x64 fixture)."""
    import jax.numpy as jnp

    from fnn.gradcheck import TOLERANCE
    from fnn.losses import softmax_cross_entropy

    def loss(p):
        return softmax_cross_entropy(model.apply(p, state, x, train=train, key=key)[0], labels)[0]

    @jax.jit  # one compilation instead of hundreds of eager ops
    def both(params):
        scores, _, cache = model.apply(params, state, x, train=train, key=key)
        _, dscores = softmax_cross_entropy(scores, labels)
        return model.backward(params, cache, dscores)[1], jax.grad(loss)(params)

    manual, auto = both(params)
    # NOTE: biases feeding batch norm have a zero gradient; compare against the largest one.
    scale = max(float(jnp.abs(a).max()) for a in jax.tree.leaves(auto))
    for m, a in zip(jax.tree.leaves(manual), jax.tree.leaves(auto), strict=True):
        assert float(jnp.abs(m - a).max()) <= TOLERANCE * max(float(jnp.abs(a).max()), 1e-3 * scale)


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


@pytest.fixture
def tiny_npz(tmp_path):
    """synthetic_arrays saved as an .npz MNIST file (keys x_train, y_train, x_test, y_test)."""
    import numpy as np

    x_train, y_train, x_test, y_test = synthetic_arrays()
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return str(path)


@pytest.fixture(scope="session")
def quick_experiment(tmp_path_factory):
    """run(name) -> (out_dir, results): `python -m experiments.<name> --quick` into a temporary
    folder (once per session and name), checking the records every experiment writes."""
    import importlib
    import json

    root, done = tmp_path_factory.mktemp("results"), {}

    def run(name):
        if name not in done:
            out = importlib.import_module(f"experiments.{name}").main(["--quick", "--out", str(root / name)])
            results = json.loads((out / "results.json").read_text())
            config = json.loads((out / "config.json").read_text())
            assert config["quick"] and "jax" in config and "device" in config
            assert results["quick"] is True
            done[name] = out, results
        return done[name]

    run.root = root
    return run


@pytest.fixture(scope="session")
def check_section():
    """check(text, name, out): an experiment's report section is well-formed LaTeX: its own
    label, every \\ref resolved here or to a derivation section, every label referred to,
    every figure a file the run wrote, no unescaped _ % & # outside math, balanced braces."""
    import re

    derivation_sections = {"sec:losses", "sec:dropout", "sec:activations"}

    def check(text, name, out):
        labels = set(re.findall(r"\\label\{([^}]+)\}", text))
        refs = set(re.findall(r"\\ref\{([^}]+)\}", text))
        assert f"sec:exp-{name}" in labels and text.startswith("\\section{")
        assert refs - labels <= derivation_sections, refs - labels
        assert labels - refs <= {f"sec:exp-{name}"}, f"never referred to: {labels - refs}"
        files = re.findall(r"\\includegraphics\[[^]]*\]\{results/" + name + r"/([^}]+)\}", text)
        assert files and set(files) <= {p.name for p in out.glob("*.png")}
        prose = re.sub(r"\$[^$]*\$|\\(label|ref|includegraphics|texttt)(\[[^]]*\])?\{[^}]*\}", "", text)
        prose = prose.replace("\\\\", "").replace(" & ", " ")  # line ends, table column separators
        assert not re.search(r"(?<!\\)[_%&#]", prose), "unescaped _ % & # outside math"
        assert text.count("{") == text.count("}") and text.count("$") % 2 == 0

    return check
