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
