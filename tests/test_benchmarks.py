"""Each benchmark runs on a tiny configuration and prints one JSON object (no timing asserted)."""

import json

import pytest


@pytest.mark.parametrize(
    "name, argv",
    [
        pytest.param(
            "train_step",
            ["--repeats", "1", "--batch-size", "8", "--models", "mlp,cnn"],
            marks=pytest.mark.slow,  # compiles the CNN step four ways: ~10 s
        ),
        ("epoch", ["--train-size", "64", "--batch-size", "32", "--repeats", "1", "--models", "cnn"]),
        pytest.param(
            "conv", ["--quick", "--repeats", "1"], marks=pytest.mark.slow
        ),  # 9.5 s cold, winograd stages
        ("vs_torch", ["--repeats", "1", "--batch-size", "8", "--models", "mlp"]),
    ],
)
def test_benchmark_prints_one_json_object(name, argv, capsys):
    import importlib

    result = importlib.import_module(f"benchmarks.{name}").main(argv)
    printed = json.loads(capsys.readouterr().out)
    assert printed["benchmark"] == name == result["benchmark"]
    if "skipped" not in printed:  # vs_torch without PyTorch prints only why it skipped
        assert "malloc_keeps_freed_memory" in printed and "fnn_compiler_options" in printed
    if name == "train_step":
        cnn = printed["models"]["cnn"]
        assert cnn["speedup_vs_baseline"] > 0 and cnn["speedup_vs_baseline_fnn_options"] > 0
    if name == "epoch":
        assert printed["models"]["cnn"]["faster"] in ("scan", "step") and printed["peak_rss_mib"] > 0
