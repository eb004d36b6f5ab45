import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fnn.gradcheck import TOLERANCE, check_loss
from fnn.losses import LOSSES, multiclass_svm, softmax_cross_entropy


@pytest.mark.parametrize("name", sorted(LOSSES))
@given(N=st.integers(1, 8), K=st.integers(2, 7), seed=st.integers(0, 2**31 - 1))
def test_dscores_equal_jax_grad_and_finite_differences(name, N, K, seed):
    report = check_loss(LOSSES[name], N, K, seed=seed)
    assert report.max_error() < TOLERANCE, report


def test_softmax_cross_entropy_matches_log_softmax_and_is_stable():
    scores = jax.random.normal(jax.random.key(0), (6, 4)) * 3
    labels = jnp.array([0, 1, 2, 3, 0, 1])
    loss, dscores = softmax_cross_entropy(scores, labels)
    expected = -jnp.take_along_axis(jax.nn.log_softmax(scores), labels[:, None], axis=1).mean()
    np.testing.assert_allclose(loss, expected, rtol=1e-6)
    np.testing.assert_allclose(dscores.sum(axis=1), 0.0, atol=1e-7)
    big_loss, big_d = softmax_cross_entropy(scores + 1e4, labels)
    np.testing.assert_allclose(big_loss, loss, rtol=1e-4)
    assert jnp.isfinite(big_d).all()


def test_multiclass_svm_matches_a_loop():
    rng = np.random.default_rng(0)
    scores, labels = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    expected = np.mean(
        [
            sum(max(0.0, scores[n, j] - scores[n, labels[n]] + 0.7) for j in range(4) if j != labels[n])
            for n in range(5)
        ]
    )
    loss, _ = multiclass_svm(jnp.asarray(scores, jnp.float32), jnp.asarray(labels), margin=0.7)
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


@pytest.mark.parametrize("loss", [softmax_cross_entropy, multiclass_svm])
def test_bad_labels_raise_value_error(loss):
    scores = jnp.zeros((3, 4))
    with pytest.raises(ValueError, match="labels of shape \\(3,\\)"):
        loss(scores, jnp.zeros((3, 1), jnp.int32))
    with pytest.raises(ValueError, match="integer"):
        loss(scores, jnp.zeros(3))
    with pytest.raises(ValueError, match="scores of shape"):
        loss(jnp.zeros(3), jnp.zeros(3, jnp.int32))


@pytest.mark.parametrize("margin", [-1.0, True, float("nan")])
def test_a_bad_svm_margin_raises_value_error(margin):
    with pytest.raises(ValueError, match="multiclass_svm: margin"):
        multiclass_svm(jnp.zeros((3, 4)), jnp.zeros(3, jnp.int32), margin=margin)
