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
        pytest.param(
            "fast_step", ["--repeats", "1", "--batch-size", "8"], marks=pytest.mark.slow
        ),  # 9 models
        pytest.param(  # two fnn processes on the tiny data set: ~8 s
            "train_command",
            lambda tiny: [
                *"--model mlp --seeds 1 --fnn-args".split(),
                f"--data {tiny} --validation 50 --batch-size 25 --epochs 1",
            ],
            marks=pytest.mark.slow,
        ),
        pytest.param(  # two batch-norm CNNs on the tiny data set: ~10 s
            "best_search",
            lambda tiny: [
                "--data",
                str(tiny),
                *"--validation 150 --epochs 1 --trials recipe,B_hidden_512".split(),
            ],
            marks=pytest.mark.slow,
        ),
        pytest.param(  # two small CNNs on the tiny data set: ~6 s
            "fast_search",
            lambda tiny: [
                "--data",
                str(tiny),
                *"--validation 50 --batch-size 25 --seeds 2 --trials channels_16_32".split(),
            ],
            marks=pytest.mark.slow,
        ),
    ],
)
def test_benchmark_prints_one_json_object(name, argv, capsys, tiny_npz):
    import importlib

    argv = argv(tiny_npz) if callable(argv) else argv  # the benchmarks that train read tiny data
    result = importlib.import_module(f"benchmarks.{name}").main(argv)
    printed = json.loads(capsys.readouterr().out)
    assert printed["benchmark"] == name == result["benchmark"]
    # vs_torch without PyTorch prints only why it skipped; train_command and the searches record no
    # process settings (the `fnn` processes it starts, and the searches themselves, apply fnn's own)
    if "skipped" not in printed and name not in ("train_command", "best_search", "fast_search"):
        assert "malloc_keeps_freed_memory" in printed and "fnn_compiler_options" in printed
    if name == "train_step":
        cnn = printed["models"]["cnn"]
        assert cnn["speedup_vs_baseline"] > 0 and cnn["speedup_vs_baseline_fnn_options"] > 0
    if name == "best_search":
        assert [t["trial"] for t in printed["trials"]] == ["recipe", "B_hidden_512"]
        assert all(len(t["val"]) == 1 and 0 <= t["test_last_epoch"] <= 1 for t in printed["trials"])
    if name == "fast_search":
        (trial,) = printed["trials"]
        assert [r["seed"] for r in trial["runs"]] == [0, 1] and printed["recipe"]["batch_size"] == 25
        assert trial["mean_test_accuracy"] == pytest.approx(sum(r["test_accuracy"] for r in trial["runs"]) / 2)
    if name == "fast_step":
        assert printed["speed_vs_recipe"]["recipe (conv impl auto: im2col, xla)"] == 1.0
        assert set(printed["pieces_ms"]) >= {"pool + relu, two layers", "pool + relu, fused"}
    if name == "train_command":
        assert [r["seed"] for r in printed["runs"]["warm"]] == [0]
        assert (
            printed["runs"]["warm"][0]["cached_programs"] == printed["runs"]["cold"][0]["cached_programs"] > 0
        )
    if name == "epoch":
        assert printed["models"]["cnn"]["faster"] in ("scan", "step") and printed["peak_rss_mib"] > 0


def test_vs_torch_refuses_a_model_without_a_pytorch_twin(capsys):
    from benchmarks import vs_torch

    with pytest.raises(SystemExit) as refused:
        vs_torch.main(["--models", "fast,best"])
    assert refused.value.code == 2 and "no PyTorch twin of best" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["mlp", "cnn", "cnn-bn", "fast"])
def test_each_pytorch_twin_has_as_many_parameters_as_fnns_model(name, monkeypatch):
    import jax
    import numpy as np

    from benchmarks import vs_torch
    from fnn import models

    torch = pytest.importorskip("torch")
    _, params, _ = models.MODELS[name]().init(jax.random.key(0), (28, 28, 1))
    net = vs_torch.torch_model(torch, name)
    assert sum(p.numel() for p in net.parameters()) == sum(np.size(p) for p in jax.tree.leaves(params))
    monkeypatch.setattr(vs_torch, "_twin", lambda torch, name: torch.nn.Linear(784, 10))
    with pytest.raises(ValueError, match="PyTorch's twin 7850"):
        vs_torch.torch_model(torch, name)
