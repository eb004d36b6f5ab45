"""experiments.filters: the trained CNN's first-layer filters and a digit's feature maps
(--quick), the figures, the facts and each claim flipping with its data."""

import copy

import numpy as np
import pytest

from experiments.filters import facts


def pngs(out):
    return sorted(p.name for p in out.glob("*.png"))


@pytest.mark.slow  # a short CNN training: 9 s cold
def test_filters(quick_experiment):
    from experiments import filters

    out, r = quick_experiment("filters")
    assert pngs(out) == ["features_conv1.png", "features_conv2.png", "filters.png"]
    assert len(r["filters"]) == 32 and len(r["feature_maps"]["conv2"]) == 64
    assert 0 <= r["contrast_filters"] <= 32 and r["run"]["epochs"] == 1
    f = facts.facts(r)
    assert f["filters"] == 32 and f["maps"] == {"conv1": 32, "conv2": 64}
    assert all(claim(f) in (True, False) for claim in facts.CLAIMS.values())
    for png in out.glob("*.png"):
        png.unlink()
    filters.main(["--replot", "--out", str(out)])
    assert pngs(out) == ["features_conv1.png", "features_conv2.png", "filters.png"]


@pytest.fixture
def results():
    """Constructed results on which every claim holds (the shape of run.run's output)."""
    rng = np.random.default_rng(0)
    return {
        "filters": rng.standard_normal((32, 3, 3)).tolist(),
        "contrast_filters": 29,
        "feature_maps": {"conv1": np.ones((32, 4, 4)).tolist(), "conv2": np.ones((64, 2, 2)).tolist()},
        "silent_maps": {"conv1": 0, "conv2": 1},
        "val_accuracy": 0.98,
        "run": {"epochs": 2, "lr": 0.05, "batch_size": 64, "seed": 0, "train_size": 55000},
        "digit_label": 7,
        "digit_index": 0,
    }


def test_facts_and_claims_hold_on_their_data(results):
    f = facts.facts(results)
    assert f["contrast_filters"] == 29 and str(f["val_accuracy"]) == "98.00"
    assert all(claim(f) for claim in facts.CLAIMS.values())


@pytest.mark.parametrize(
    "claim, edit",
    [
        ("most_filters_contrast", lambda r: r.update(contrast_filters=10)),
        ("few_silent_maps", lambda r: r["silent_maps"].update(conv2=20)),
    ],
)
def test_each_claim_flips_with_its_data(results, claim, edit):
    broken = copy.deepcopy(results)
    edit(broken)
    assert facts.CLAIMS[claim](facts.facts(broken)) is False
