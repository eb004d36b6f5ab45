"""experiments.time_to_accuracy and experiments.best: their quick runs, figures and --replot,
the time-to-accuracy reading of a curve, and each claim flipping with its data."""

import pytest

from benchmarks.time_to_accuracy import first_reach
from experiments import best, time_to_accuracy
from experiments.best import facts as best_facts
from experiments.time_to_accuracy import facts as tta_facts


@pytest.mark.slow  # two short trainings: ~15 s
def test_quick_run_probes_as_it_trains_and_redraws(quick_experiment):
    out, r = quick_experiment("time_to_accuracy")
    runs = r["arms"]["fast"]
    assert [x["seed"] for x in runs] == [0, 1]
    for run in runs:
        steps = [p["step"] for p in run["curve"]]
        assert steps == sorted(steps) and steps[0] == run["probe_every"]
        seconds = [p["seconds"] for p in run["curve"]]
        assert seconds == sorted(seconds) and seconds[-1] <= run["wall_seconds"]
        assert run["probe_seconds"] > 0 and "train_seconds" not in run  # the probes' time, apart
    (out / "curves.png").unlink()
    time_to_accuracy.main(["--replot", "--out", str(out)])
    assert (out / "curves.png").exists()
    f = tta_facts.facts(r)  # the quick run trains fast only: its own claims evaluate
    for claim in ("fast_mean_at_least_99", "fast_never_99_2"):
        assert tta_facts.CLAIMS[claim](f) in (True, False)
    assert set(f["fast"]["reach"]) == {"98", "99", "99_2", "99_5"}  # every key, reached or not


@pytest.mark.slow  # four short trainings of the best recipe, with and without augmentation
def test_best_quick_run_pairs_the_arms_by_seed(quick_experiment):
    out, r = quick_experiment("best")
    assert set(r["arms"]) == {"affine", "none"}
    assert [x["seed"] for x in r["arms"]["affine"]] == [x["seed"] for x in r["arms"]["none"]]
    f = best_facts.facts(r)
    assert f["gain"]["n"] == 2
    (out / "curves.png").unlink()
    best.main(["--replot", "--out", str(out)])
    assert (out / "curves.png").exists()


def test_first_reach_is_the_first_probe_at_or_above_the_target():
    curve = [{"seconds": 1.0, "test": 0.97}, {"seconds": 2.0, "test": 0.99}, {"seconds": 3.0, "test": 0.985}]
    assert first_reach(curve, 0.99) == 2.0 and first_reach(curve, 0.98) == 2.0
    assert first_reach(curve, 0.995) is None


def _run(seed, accuracy, seconds, curve):
    points = [{"step": 10 * (i + 1), "seconds": t, "test": a} for i, (t, a) in enumerate(curve)]
    return {
        "seed": seed,
        "test_accuracy": accuracy,
        "wall_seconds": seconds,
        "best_epoch": 1,
        "curve": points,
    }


def _tta(fast_accuracy=0.993, fast_seconds=9.0, fast_99_at=6.0, fast_missing_99=0):
    curve = [(3, 0.981), (fast_99_at, 0.99), (fast_seconds, fast_accuracy)]
    short = [(3, 0.981), (fast_seconds, 0.989)]  # a seed that never passes 99%
    fast = [_run(s, fast_accuracy, fast_seconds, curve) for s in range(5 - fast_missing_99)]
    fast += [_run(s, 0.989, fast_seconds, short) for s in range(5 - fast_missing_99, 5)]
    slow = [_run(s, 0.994, 50.0, [(20, 0.985), (40, 0.991), (50, 0.994)]) for s in range(3)]
    bn = [_run(s, 0.9945, 60.0, [(25, 0.985), (45, 0.992), (60, 0.9945)]) for s in range(3)]
    recipe = {"epochs": 2, "batch_size": 256}
    return {
        "arms": {"fast": fast, "cnn": slow, "cnn-bn": bn},
        "recipes": dict.fromkeys(("fast", "cnn", "cnn-bn"), recipe),
    }


@pytest.mark.parametrize(
    "claim, holds, flipped",
    [
        ("fast_mean_at_least_99", _tta(), _tta(fast_accuracy=0.989)),
        ("fast_99_before_any_cnn", _tta(), _tta(fast_99_at=45.0, fast_seconds=48.0)),
        ("fast_99_not_every_seed", _tta(fast_missing_99=1), _tta()),
        ("fast_never_99_2", _tta(fast_accuracy=0.991), _tta()),
        ("fast_ends_lowest", _tta(), _tta(fast_accuracy=0.995)),
        ("cnn_bn_most_accurate", _tta(fast_accuracy=0.991), _tta(fast_accuracy=0.995)),
        ("none_reaches_99_5", _tta(), _tta(fast_accuracy=0.996)),
    ],
)
def test_time_to_accuracy_claims_flip_with_their_data(claim, holds, flipped):
    assert tta_facts.CLAIMS[claim](tta_facts.facts(holds)) is True
    assert tta_facts.CLAIMS[claim](tta_facts.facts(flipped)) is False


def _best(with_aug=(0.9965, 0.9962, 0.9968), without=(0.9950, 0.9948, 0.9952), minutes=8.0):
    def arm(values):
        return [_run(s, a, 60 * minutes, [(60, 0.99), (60 * minutes, a)]) for s, a in enumerate(values)]

    return {
        "arms": {"affine": arm(with_aug), "none": arm(without)},
        "recipes": {"affine": {"epochs": 30}},
        "train_size": 55000,
    }


@pytest.mark.parametrize(
    "claim, holds, flipped",
    [
        ("at_least_99_6", _best(), _best(with_aug=(0.996, 0.995, 0.996))),
        ("within_15_minutes", _best(), _best(minutes=16.0)),
        ("augmentation_helps", _best(), _best(without=(0.9966, 0.9960, 0.9969))),
        ("augmentation_ahead_every_seed", _best(), _best(without=(0.9966, 0.9950, 0.9952))),
    ],
)
def test_best_claims_flip_with_their_data(claim, holds, flipped):
    assert best_facts.CLAIMS[claim](best_facts.facts(holds)) is True
    assert best_facts.CLAIMS[claim](best_facts.facts(flipped)) is False
