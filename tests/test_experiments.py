"""Every experiment runs end to end with --quick and writes its figures and numbers."""

import json

import pytest

from experiments import report


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    return root


def run_quick(name, root):
    import importlib

    out = importlib.import_module(f"experiments.{name}").main(["--quick", "--out", str(root / name)])
    results = json.loads((out / "results.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert config["quick"] and "jax" in config and "device" in config
    assert results["quick"] is True
    return out, results


def pngs(out):
    return sorted(p.name for p in out.glob("*.png"))


def test_mlp(quick_results):
    out, r = run_quick("mlp", quick_results)
    assert pngs(out) == ["confusion.png", "curves.png", "misclassified.png"]
    assert r["test_accuracy"] > 0.8
    assert sum(map(sum, r["confusion"])) == r["test_size"]
    assert len(r["misclassified"]["index"]) == min(32, round(r["test_size"] * (1 - r["test_accuracy"])))


def test_cnn(quick_results):
    out, r = run_quick("cnn", quick_results)
    assert pngs(out) == ["confusion.png", "curves.png", "misclassified.png"]
    assert r["test_accuracy"] > 0.8


def test_optimizers_momentum_beats_sgd_at_equal_budget(quick_results):
    out, r = run_quick("optimizers", quick_results)
    assert pngs(out) == ["loss.png", "lr_sweep.png"]
    assert set(r["runs"]) == {"sgd", "momentum", "nesterov", "rmsprop", "adam"}
    assert r["runs"]["momentum"]["final_loss"] < r["runs"]["sgd"]["final_loss"]


def test_losses(quick_results):
    out, r = run_quick("losses", quick_results)
    assert pngs(out) == ["curves.png"]
    assert r["softmax_cross_entropy"]["test_accuracy"] > 0.8 and r["multiclass_svm"]["test_accuracy"] > 0.8


def test_batch_norm_is_less_sensitive_to_init_scale(quick_results):
    out, r = run_quick("batch_norm", quick_results)
    assert pngs(out) == ["batch_size.png", "init_scale.png", "modes.png"]
    assert r["val_accuracy_spread_with_bn"] < r["val_accuracy_spread_without_bn"]
    modes = {k: v[-1] for k, v in r["modes"].items()}
    assert modes["train mode, batches of 1"] < 0.3 < modes["test mode (running statistics)"]


def test_gradients_below_tolerance(quick_results):
    out, r = run_quick("gradients", quick_results)
    assert pngs(out) == ["fd_step.png"]
    assert r["max_error"] < r["tolerance"]
    assert min(r["fd_error_float64"]) < min(r["fd_error_float32"])


def test_conv_speed(quick_results):
    out, r = run_quick("conv_speed", quick_results)
    assert pngs(out) == ["speed.png"]
    (row,) = r["rows"]
    assert row["xla_vs_xla_forward_backward"] == 1.0 and row["direct_forward_backward_ms"] > 0


def test_filters(quick_results):
    out, r = run_quick("filters", quick_results)
    assert pngs(out) == ["digit.png", "features_conv1.png", "features_conv2.png", "filters.png"]
    assert len(r["filters"]) == 32 and len(r["feature_maps"]["conv2"]) == 64


def test_report_collects_everything_and_lists_what_is_missing(quick_results, tmp_path):
    text, missing = report.build(quick_results, tmp_path / "REPORT.md")
    assert missing == []
    assert "Why momentum helps" in text and "running statistics" in text and "quick run" in text
    mlp = json.loads((quick_results / "mlp" / "results.json").read_text())
    assert f"{100 * mlp['test_accuracy']:.2f}%" in text  # numbers come from results.json
    empty = tmp_path / "empty"
    empty.mkdir()
    _, missing = report.build(empty, tmp_path / "R2.md")
    assert missing == list(report.EXPERIMENTS)
