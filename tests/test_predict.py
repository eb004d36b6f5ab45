"""`fnn predict` on pictures of real MNIST test digits agrees with the run's own predictions.

One small MLP is trained once for the module through `fnn.cli.main`, as a user would (real
MNIST digits: 6,000 training images, 2 epochs, about 92% test accuracy); its test digits are
then exported as PNG files, enlarged and in both polarities, and classified by `fnn.predict`.
"""

import argparse
import json
import os

import numpy as np
import pytest
from PIL import Image

from fnn import checkpoint, data, models
from fnn.cli import predict
from fnn.preprocess import PreprocessError
from fnn.train import predict as network_scores

N_DIGITS = 100  # cheap: one forward pass; enough that one unsure digit moves agreement by 1%


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """(run folder, 28 x 28 uint8 test digits, their labels): an MLP trained on real MNIST."""
    from fnn.cli import main

    folder = tmp_path_factory.mktemp("predict")
    x_train, y_train, x_test, y_test = data.read_mnist_file(data.find_mnist(allow_download=False))
    rng = np.random.default_rng(0)  # NOTE: the .mat file's rows are sorted by class
    rows, test_rows = rng.permutation(len(x_train))[:6000], rng.permutation(len(x_test))[:500]
    subset = folder / "mnist_subset.npz"
    np.savez(
        subset,
        x_train=x_train[rows],
        y_train=y_train[rows],
        x_test=x_test[test_rows],
        y_test=y_test[test_rows],
    )
    argv = ["train", "--model", "mlp", "--data", str(subset), "--epochs", "2", "--validation", "500"]
    assert main([*argv, "--out", str(folder / "run")]) == 0
    digits = x_test[test_rows[:N_DIGITS]].reshape(-1, 28, 28).astype(np.uint8)
    labels = y_test[test_rows[:N_DIGITS]]
    assert len(set(labels)) >= 8  # most classes
    return folder / "run", digits, labels


def run_predict(argv: list[str], capsys) -> list[str]:
    """`fnn predict ARGV` through the parser the CLI uses; its stdout lines."""
    parser = argparse.ArgumentParser(prog="fnn")
    predict.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["predict", *argv])
    capsys.readouterr()
    assert args.run(args) == 0
    return capsys.readouterr().out.splitlines()


def own_predictions(run_dir, digits: np.ndarray) -> np.ndarray:
    """What `fnn eval` computes: the best parameters on the 28 x 28 images, minus the pixel mean."""
    loaded = models.load(run_dir)
    x = digits[..., None].astype(np.float32) / 255 - loaded.pixel_mean
    return network_scores(loaded.model, loaded.params, loaded.state, x).argmax(axis=1)


def export(folder, digits: np.ndarray, *, invert: bool, resample) -> list[str]:
    """Each digit as an 84 x 84 PNG (3x), white on black as MNIST or black on white as on paper."""
    folder.mkdir(exist_ok=True)
    paths = []
    for i, digit in enumerate(digits):
        image = Image.fromarray(255 - digit if invert else digit).resize((84, 84), resample)
        paths.append(str(folder / f"digit{i}.png"))
        image.save(paths[-1])
    return paths


@pytest.mark.parametrize(
    "invert, resample",
    [(False, Image.Resampling.NEAREST), (True, Image.Resampling.BILINEAR)],
    ids=["white-on-black-nearest", "black-on-white-bilinear"],
)
def test_predict_on_exported_test_digits_agrees_with_the_run(run, tmp_path, capsys, invert, resample):
    run_dir, digits, labels = run
    expected = own_predictions(run_dir, digits)
    assert (expected == labels).mean() >= 0.8  # the network is a real (if small) classifier
    paths = export(tmp_path / "png", digits, invert=invert, resample=resample)
    lines = run_predict(["--checkpoint", str(run_dir), "--json", *paths], capsys)
    records = [json.loads(line) for line in lines]
    assert [r["path"] for r in records] == paths  # one line per image, in the order given
    predicted = np.array([r["top"][0][0] for r in records])
    # NOTE: not 100%, because of resampling. A nearest-neighbour copy shrinks back bit for bit
    # (BOX averages each 3 x 3 block) unless MNIST's own centring differs from ours by a pixel
    # (about 1% of digits); a bilinear copy is blurred, which shrinking does not undo. Either
    # changes the image slightly, enough to flip a digit the network was unsure of (measured
    # with a run like this one: 99.9% and 96% agreement on 2,000 test digits).
    assert (predicted == expected).mean() >= 0.9, (predicted, expected)


def test_an_exact_npy_gives_the_runs_own_probabilities(run, tmp_path, capsys):
    run_dir, digits, _ = run
    loaded = models.load(run_dir)
    x = digits[:5, ..., None].astype(np.float32) / 255
    scores = network_scores(loaded.model, loaded.params, loaded.state, x - loaded.pixel_mean)
    expected = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    paths = []
    for i, digit in enumerate(digits[:5]):
        paths.append(str(tmp_path / f"d{i}.npy"))
        np.save(paths[-1], digit)
    lines = run_predict(["--checkpoint", str(run_dir), "--json", "--top", "10", *paths], capsys)
    for line, probs in zip(lines, expected):
        top = json.loads(line)["top"]
        assert [c for c, _ in top] == list(np.argsort(-probs, kind="stable"))
        np.testing.assert_allclose([p for _, p in top], np.sort(probs)[::-1], atol=6e-5)  # 4 decimals


def test_text_output_top_k_and_show(run, tmp_path, capsys):
    run_dir, digits, _ = run
    paths = export(tmp_path / "a", digits[:2], invert=True, resample=Image.Resampling.NEAREST)
    paths.append(export(tmp_path / "b", digits[:1], invert=False, resample=Image.Resampling.NEAREST)[0])
    show = tmp_path / "seen"
    lines = run_predict(["--checkpoint", str(run_dir), "--top", "2", "--show", str(show), *paths], capsys)
    assert len(lines) == 3
    for line, path in zip(lines, paths):
        assert line.startswith(f"{path}: ")
        shares = line.removeprefix(f"{path}: ").split(", ")
        assert len(shares) == 2 and all(s[0].isdigit() and s.endswith("%)") for s in shares)
    assert sorted(p.name for p in show.iterdir()) == [
        "digit0_2_seen.png",
        "digit0_seen.png",
        "digit1_seen.png",
    ]
    assert Image.open(show / "digit0_seen.png").size[0] > 200


def test_errors_name_the_file_and_print_nothing(run, tmp_path, capsys):
    run_dir, digits, _ = run
    good = export(tmp_path, digits[:1], invert=False, resample=Image.Resampling.NEAREST)[0]
    (tmp_path / "scans").mkdir()
    Image.fromarray(np.zeros((30, 30), np.uint8)).save(tmp_path / "blank.png")
    with pytest.raises(PreprocessError, match="blank.png: no digit found"):
        run_predict(["--checkpoint", str(run_dir), good, str(tmp_path / "blank.png")], capsys)
    with pytest.raises(PreprocessError, match="missing.png: no such file"):
        run_predict(["--checkpoint", str(run_dir), str(tmp_path / "missing.png")], capsys)
    np.save(tmp_path / "zeros.npy", np.zeros((28, 28), np.uint8))  # used as is, yet refused
    with pytest.raises(PreprocessError, match="zeros.npy: no digit found"):
        run_predict(["--checkpoint", str(run_dir), good, str(tmp_path / "zeros.npy")], capsys)
    with pytest.raises(PreprocessError, match="scans: is a folder, not an image"):
        run_predict(["--checkpoint", str(run_dir), str(tmp_path / "scans")], capsys)
    with pytest.raises(checkpoint.CheckpointError, match="no checkpoint at"):
        run_predict(["--checkpoint", str(tmp_path / "nothing"), good], capsys)
    assert capsys.readouterr().out == ""
    for bad in (["--top", "0", good], ["--top", "x", good], []):
        with pytest.raises(SystemExit):
            run_predict(["--checkpoint", str(run_dir), *bad], capsys)


def test_show_never_writes_two_figures_to_one_name(run, tmp_path, capsys):
    run_dir, digits, _ = run
    digit = Image.fromarray(255 - digits[0])
    names = ["a.png", "sub/a.png", "a_2.png", "a.jpg", "A.png", "seen/a_3_seen.png"]
    for name in names:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        digit.save(tmp_path / name)
    paths = [str(tmp_path / name) for name in names]
    show = tmp_path / "seen"
    expected = {  # the next free number; without case (A.png); never an input's name in DIR
        "a_seen.png": "a.png",
        "a_2_seen.png": "sub/a.png",
        "a_2_2_seen.png": "a_2.png",
        "a_4_seen.png": "a.jpg",
        "A_5_seen.png": "A.png",
        "a_3_seen_seen.png": "seen/a_3_seen.png",
    }
    for _ in range(2):  # the same names each time
        run_predict(["--checkpoint", str(run_dir), "--show", str(show), *paths], capsys)
        assert sorted(p.name for p in show.iterdir()) == sorted([*expected, "a_3_seen.png"])
    assert (show / "a_3_seen.png").read_bytes() == (tmp_path / "seen/a_3_seen.png").read_bytes()


def test_a_file_name_that_is_not_utf8_gives_valid_json_and_text(run, tmp_path, capsys):
    run_dir, digits, _ = run
    path = os.fsdecode(os.fsencode(tmp_path) + b"/\xff.png")  # Linux allows any bytes but / and NUL
    Image.fromarray(255 - digits[0]).save(path)
    shown = f"{tmp_path}/\\xff.png"  # the byte as a backslash escape
    (line,) = run_predict(["--checkpoint", str(run_dir), "--json", path], capsys)
    line.encode("utf-8")  # strict: no lone surrogate
    assert json.loads(line)["path"] == shown
    assert "\\ud" not in line  # json.dumps would escape a surrogate as \udcff: rejected by strict readers
    (line,) = run_predict(["--checkpoint", str(run_dir), path], capsys)
    assert line.encode("utf-8").startswith(f"{shown}: ".encode())
