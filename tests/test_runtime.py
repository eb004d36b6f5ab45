"""fnn.runtime: the CPU compiler option changes speed, never results, and keeping freed
memory really stops the per-call page faults it is there to stop."""

import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from fnn import models, runtime


def test_compiler_options_only_on_the_cpu():
    assert runtime.compiler_options("gpu") == {}
    assert runtime.compiler_options("tpu") == {}
    options = runtime.compiler_options("cpu")
    assert options in ({}, {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"})


def test_jit_with_the_options_gives_the_results_of_plain_jit():
    model = models.cnn(batch_norm=True)
    _, params, state = model.init(jax.random.key(0), (28, 28, 1))
    x = jax.random.normal(jax.random.key(1), (16, 28, 28, 1))

    def forward_backward(params, x):
        y, _, cache = model.apply(params, state, x, train=True)
        return y, model.backward(params, cache, jnp.ones_like(y))

    plain = jax.jit(forward_backward)(params, x)
    tuned = runtime.jit(forward_backward)(params, x)
    for a, b in zip(jax.tree.leaves(plain), jax.tree.leaves(tuned)):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-4)


def test_jit_passes_jit_arguments_through():
    f = runtime.jit(lambda x, n: lax.conv_general_dilated(x, x, (1, 1), "VALID") * n, static_argnums=1)
    x = jnp.ones((1, 1, 3, 3))
    np.testing.assert_allclose(f(x, 2), 18.0)


PAGE_FAULTS = textwrap.dedent(
    """
    import resource, statistics, sys
    import jax, jax.numpy as jnp
    from fnn import models, optim, runtime
    from fnn.losses import softmax_cross_entropy
    from fnn.step import init_train_state, make_train_step
    if sys.argv[1] == "keep":
        assert runtime.keep_freed_memory()
    # the CNN step at batch 128: ~41 MB of temporaries per call, above glibc's 32 MiB
    model, opt = models.cnn(), optim.momentum(0.01)
    step = make_train_step(model, softmax_cross_entropy, opt)
    ts = init_train_state(model, opt, (28, 28, 1))
    x, labels = jnp.zeros((128, 28, 28, 1)), jnp.zeros(128, jnp.int32)
    faults = []
    for i in range(23):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        ts, (loss, _) = step(ts, x, labels)
        loss.block_until_ready()
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    print(statistics.median(faults[3:]))  # the typical step, once compiled and warm
    """
)


@pytest.mark.slow  # two fresh processes, 23 CNN steps each: ~10 s
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc only")
def test_keeping_freed_memory_stops_the_page_faults_of_every_call():
    def faults(mode):
        run = subprocess.run(
            [sys.executable, "-c", PAGE_FAULTS, mode], capture_output=True, text=True, check=True
        )
        return float(run.stdout.split()[-1])

    default, kept = faults("glibc"), faults("keep")  # page faults in a typical step: ~12,800 and 0
    assert kept < default / 4, (kept, default)
