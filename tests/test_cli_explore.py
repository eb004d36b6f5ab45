"""`fnn explore`: every API call, its refusals (no token, a foreign Host or Origin, bad
uploads, bad JSON, a class out of range), the page and its files, the command itself, and the
equations file it ships, in sync with derivations/*.tex.

One small MLP is trained for the module through `fnn.cli.main` on the synthetic MNIST of
conftest (1 epoch, a few seconds); the server runs in a thread of this process, as `fnn explore
--checkpoint RUN --data TINY.npz` starts it, and is spoken to over HTTP with `http.client`.
"""

import base64
import http.client
import io
import json
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import tomllib
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_arrays
from PIL import Image

from fnn import models
from fnn.cli import build_parser, main
from fnn.cli.explore import equations, start
from fnn.cli.explore.server import MAX_UPLOAD, static_files
from fnn.predict import probabilities
from fnn.preprocess import read_image

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(run folder, npz): an MLP trained 1 epoch on synthetic MNIST, and that data."""
    folder = tmp_path_factory.mktemp("explore")
    x_train, y_train, x_test, y_test = synthetic_arrays()
    npz = folder / "tiny.npz"
    np.savez(npz, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    argv = ["train", "--model", "mlp", "--epochs", "1", "--validation", "50", "--quiet"]
    assert main([*argv, "--data", str(npz), "--out", str(folder / "run")]) == 0
    return folder / "run", npz


def serving(argv: list[str]):
    """A Server started as `fnn explore ARGV --no-browser`, serving in a thread."""
    server = start(build_parser().parse_args(["explore", *argv, "--no-browser"]))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def server(tiny):
    run, npz = tiny
    server = serving(["--checkpoint", str(run), "--data", str(npz)])
    yield server
    server.shutdown()
    server.server_close()


def call(server, method, path, body=None, headers=None, token=True):
    """(status, headers, parsed JSON or bytes) of one request; `token`: True for the server's,
    None for none, or a string to send instead."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    sent = {} if token is None else {"Authorization": f"token {server.app.token if token is True else token}"}
    sent.update(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    connection.request(method, path, body=body, headers=sent)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    is_json = response.headers.get("Content-Type", "").startswith("application/json")
    return response.status, response.headers, json.loads(data) if is_json else data


def decode(encoded: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(encoded["data"]), "<f4").reshape(encoded["shape"])


def png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def digit_png() -> bytes:
    """A dark "7" on light paper, 120 x 100, as a phone might photograph it."""
    image = np.full((120, 100), 230, np.uint8)
    image[20:30, 20:80] = 20
    for row in range(30, 105):
        col = 75 - (row - 30) // 3
        image[row, col - 5 : col + 5] = 20
    return png(image)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height pixels and holds none (PIL reads the size first)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00"))
        + chunk(b"IEND", b"")
    )


# ---- the page, its files, and who may ask ---------------------------------------------------


def test_the_page_needs_the_token_of_the_printed_address(server):
    status, headers, page = call(server, "GET", f"/?token={server.app.token}", token=None)
    assert status == 200 and b"fnn explore" in page and b"/static/explore.js" in page
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "no-store" and headers["X-Frame-Options"] == "DENY"
    for path in ("/", "/?token=", "/?token=wrong" + server.app.token[5:]):
        status, _, text = call(server, "GET", path, token=None)
        assert status == 403 and b"token" in text
    assert server.url() == f"http://127.0.0.1:{server.port}/?token={server.app.token}"
    assert len(server.app.token) >= 40  # 32 random bytes


def test_static_files_are_the_packaged_ones_only(server):
    for name in ("explore.js", "explore.css", "equations.json", "katex/katex.min.js", "katex/LICENSE"):
        status, _, data = call(server, "GET", f"/static/{name}", token=None)
        assert status == 200 and data, name
    for path in (
        "/static/../server.py",
        "/static/%2e%2e/server.py",
        "/static/nope.js",
        "/server.py",
        "/etc/passwd",
    ):
        assert call(server, "GET", path, token=None)[0] == 404, path
    assert call(server, "POST", "/static/explore.js", b"x", token=None)[0] == 405


ENDPOINTS = [
    ("GET", "/api/model", None),
    ("GET", "/api/mnist?index=0", None),
    ("POST", "/api/preprocess", digit_png()),
    ("POST", "/api/forward", {"image": np.eye(28).tolist()}),
    ("POST", "/api/backward", {"image": np.eye(28).tolist(), "target": 1}),
]


@pytest.mark.parametrize("method, path, body", ENDPOINTS, ids=[e[1] for e in ENDPOINTS])
def test_every_api_call_needs_the_token(server, method, path, body):
    for token in (None, "", "wrong", server.app.token + "x", server.app.token.upper()):
        status, _, answer = call(server, method, path, body, token=token)
        assert status == 403 and "token" in answer["error"], token
    status, _, _ = call(server, method, path, body, headers={"Authorization": server.app.token}, token=None)
    assert status == 403  # the scheme word "token" is required
    assert call(server, method, path, body)[0] == 200


@pytest.mark.parametrize("method, path, body", ENDPOINTS, ids=[e[1] for e in ENDPOINTS])
def test_a_foreign_host_or_origin_is_refused_dns_rebinding(server, method, path, body):
    port = server.port
    for host in (
        f"evil.example:{port}",
        f"127.0.0.1.evil.example:{port}",
        f"127.0.0.1:{port + 1}",
        "127.0.0.1",
    ):
        status, _, answer = call(server, method, path, body, headers={"Host": host})
        assert status == 403 and "Host" in answer["error"], host
    for origin in (
        f"http://evil.example:{port}",
        "null",
        f"https://127.0.0.1:{port}",
        f"http://127.0.0.1:{port + 1}",
    ):
        status, _, answer = call(server, method, path, body, headers={"Origin": origin})
        assert status == 403 and "another site" in answer["error"], origin
    for host in (f"localhost:{port}", f"LOCALHOST:{port}", f"127.0.0.1:{port}"):
        same = {"Host": host, "Origin": f"http://{host.lower()}"}
        assert call(server, method, path, body, headers=same)[0] == 200, host


def test_the_page_and_its_files_check_the_host_too(server):
    evil = {"Host": f"evil.example:{server.port}"}
    assert call(server, "GET", f"/?token={server.app.token}", headers=evil, token=None)[0] == 403
    assert call(server, "GET", "/static/explore.js", headers=evil, token=None)[0] == 403


def test_unknown_paths_and_methods(server):
    assert call(server, "GET", "/api/nothing")[0] == 404
    assert call(server, "POST", "/api/model", {"a": 1})[0] == 405
    assert call(server, "GET", "/api/forward")[0] == 405
    assert call(server, "DELETE", "/api/model")[0] == 405
    assert call(server, "OPTIONS", "/api/forward", headers={"Origin": "http://evil.example"})[0] == 403


# ---- the model and the input ----------------------------------------------------------------


def test_model_lists_the_layers_and_their_equations(server):
    status, _, model = call(server, "GET", "/api/model")
    assert status == 200
    assert model["name"] == "mlp" and model["trained"] is True and model["classes"] == 10
    assert "trained 1 epoch(s)" in model["summary"] and "validation accuracy" in model["summary"]
    names = [layer["name"] for layer in model["layers"]]
    assert (
        names
        == ["flatten", "affine1", "relu", "dropout", "affine2", "relu", "dropout", "scores"][: len(names)]
    )
    assert model["layers"][1]["call"].startswith("affine(512") and model["layers"][1]["params"]["W"] == [
        784,
        512,
    ]
    assert model["layers"][0]["in_shape"] == [28, 28, 1] and model["layers"][-1]["out_shape"] == [10]
    shipped = json.loads((ROOT / "fnn/cli/explore/static/equations.json").read_text())["equations"]
    cited = [label for layer in model["layers"] for label in layer["equations"]]
    cited += model["loss_equations"] + model["chain_equations"]
    assert "eq:affine-dW" in cited and "eq:softmax-dscores" in cited and set(cited) <= set(shipped)


def test_an_upload_is_preprocessed_exactly_as_fnn_predict_does(server, tiny, tmp_path):
    body = digit_png()
    status, _, seen = call(server, "POST", "/api/preprocess", body, headers={"Content-Type": "image/png"})
    assert status == 200
    path = tmp_path / "seven.png"
    path.write_bytes(body)
    expected = read_image(path)
    np.testing.assert_array_equal(np.asarray(seen["image"], np.float32), expected[..., 0])
    reference = probabilities(models.load(tiny[0]), expected[None])[0]
    np.testing.assert_allclose(seen["probabilities"], reference, rtol=1e-5, atol=1e-7)
    assert [c for c, _ in seen["top"]] == list(np.argsort(-reference, kind="stable")[:3])


def test_npy_and_jpeg_uploads(server):
    digit = np.zeros((28, 28), np.uint8)
    digit[5:23, 12:16] = 255
    status, _, seen = call(server, "POST", "/api/preprocess", npy(digit))
    assert status == 200 and np.asarray(seen["image"]).max() == 1.0
    np.testing.assert_array_equal(np.asarray(seen["image"]), digit / 255)  # a (28, 28) .npy is used as it is
    jpeg = io.BytesIO()
    Image.open(io.BytesIO(digit_png())).convert("RGB").save(jpeg, format="JPEG")
    assert (
        call(server, "POST", "/api/preprocess", jpeg.getvalue(), headers={"Content-Type": "image/jpeg"})[0]
        == 200
    )


def npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=array.dtype == object)
    return out.getvalue()


def npy_of_objects() -> bytes:
    """A pickle inside a .npy: code would run if it were loaded with allow_pickle."""
    return npy(np.array([{"a": 1}], dtype=object))


BAD_UPLOADS = {
    "empty": (b"", 400, "empty"),
    "empty canvas": (png(np.zeros((280, 280), np.uint8)), 400, "no digit found"),
    "a few stray pixels": (png(np.pad(np.full((2, 2), 255, np.uint8), 100)), 400, "no digit found"),
    "corrupt PNG": (b"\x89PNG\r\n\x1a\n" + b"garbage" * 20, 400, "not readable as an image"),
    "10,000 x 10,000": (png_header_only(10_000, 10_000), 400, "too large"),
    "GIF": (b"GIF89a" + b"\x00" * 40, 415, "(GIF)"),
    "random bytes": (bytes(range(256)), 415, "PNG, JPEG or .npy"),
    "pickled .npy": (npy_of_objects(), 400, "not readable as a .npy array"),
    "truncated .npy": (npy_of_objects()[:20], 400, "not readable as a .npy array"),
    "(4, 5, 6) .npy": (npy(np.zeros((4, 5, 6), np.uint8)), 400, "C in 1..4 channels"),
}


@pytest.mark.parametrize("body, status, message", BAD_UPLOADS.values(), ids=BAD_UPLOADS.keys())
def test_a_bad_upload_gets_a_clear_4xx(server, body, status, message):
    got, _, answer = call(server, "POST", "/api/preprocess", body, headers={"Content-Type": "image/png"})
    assert got == status and message in answer["error"], answer
    assert (
        "Traceback" not in answer["error"]
        and "/tmp" not in answer["error"]
        and "fnn-explore-" not in answer["error"]
    )


@pytest.mark.parametrize("kind", ["text/plain", "multipart/form-data; boundary=x", "image/gif"])
def test_an_upload_declared_as_another_type_is_415(server, kind):
    status, _, answer = call(server, "POST", "/api/preprocess", digit_png(), headers={"Content-Type": kind})
    assert status == 415 and "upload a PNG, JPEG or .npy file" in answer["error"]


def test_an_upload_over_the_size_limit_is_413_and_the_server_goes_on(server):
    status, _, answer = call(server, "POST", "/api/preprocess", b"\x89PNG\r\n\x1a\n" + bytes(MAX_UPLOAD))
    assert status == 413 and "too large" in answer["error"] and f"{MAX_UPLOAD:,}" in answer["error"]
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)  # no Content-Length
    connection.putrequest("POST", "/api/preprocess")
    connection.putheader("Authorization", f"token {server.app.token}")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    connection.send(b"5\r\nhello\r\n0\r\n\r\n")
    assert connection.getresponse().status == 411
    connection.close()
    assert call(server, "GET", "/api/model")[0] == 200


def test_mnist_test_digits_by_index(server, tiny):
    status, _, seen = call(server, "GET", "/api/mnist?index=7")
    assert status == 200 and seen["count"] == 100 and seen["index"] == 7
    from fnn.data import load_mnist

    test = load_mnist(tiny[1], validation=0).test
    assert seen["label"] == int(test.labels[7])
    np.testing.assert_array_equal(np.asarray(seen["image"], np.float32), test.x[7, :, :, 0])
    for index, message in (
        ("100", "out of range"),
        ("-1", "whole number"),
        ("x", "whole number"),
        ("", "whole number"),
    ):
        status, _, answer = call(server, "GET", f"/api/mnist?index={index}")
        assert status == 400 and message in answer["error"], index


# ---- forward and backward --------------------------------------------------------------------


def a_digit(server) -> list:
    return call(server, "POST", "/api/preprocess", digit_png())[2]["image"]


def test_forward_gives_every_layers_output(server, tiny):
    image = a_digit(server)
    status, headers, answer = call(server, "POST", "/api/forward", {"image": image})
    assert status == 200 and "compute;dur=" in headers["Server-Timing"]
    model = call(server, "GET", "/api/model")[2]
    outputs = [decode(layer["output"]) for layer in answer["layers"]]
    assert [list(y.shape) for y in outputs] == [layer["out_shape"] for layer in model["layers"]]
    loaded = models.load(tiny[0])
    reference = probabilities(loaded, np.asarray(image, np.float32)[None, :, :, None])[0]
    np.testing.assert_allclose(answer["probabilities"], reference, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(outputs[-1], answer["scores"], rtol=1e-6)
    x = np.asarray(image, np.float32).reshape(-1) - loaded.pixel_mean.reshape(-1)
    np.testing.assert_allclose(outputs[0], x, rtol=1e-6, atol=1e-6)  # flatten of image minus the mean


def test_backward_equals_jax_vjp_in_float64_for_every_layer(server):
    image = a_digit(server)
    status, _, answer = call(server, "POST", "/api/backward", {"image": image, "target": 3})
    assert status == 200 and answer["target"] == 3 and answer["loss"] > 0
    model = call(server, "GET", "/api/model")[2]
    for layer, info in zip(answer["layers"], model["layers"]):
        assert list(decode(layer["dx"]).shape) == info["in_shape"]
        assert set(layer["dparams"]) == set(layer["dparams_vjp"]) == set(info["params"])
        assert set(layer["relative"]) == {"dx", *info["params"]}
        assert all(r < 1e-9 for r in layer["relative"].values()), (info["name"], layer["relative"])
        np.testing.assert_allclose(decode(layer["dx"]), decode(layer["dx_vjp"]), rtol=1e-4, atol=1e-7)
    assert answer["max_relative"] < 1e-9 and answer["saliency_relative"] < 1e-9
    saliency = decode(answer["saliency"])
    assert saliency.shape == (28, 28, 1) and np.abs(saliency).max() > 0
    np.testing.assert_array_equal(saliency, decode(answer["layers"][0]["dx"]).reshape(28, 28, 1))
    dscores = decode(answer["dscores"])
    assert abs(dscores.sum()) < 1e-6 and dscores[3] < 0  # p - onehot: the target's entry is negative


BAD_REQUESTS = {
    "class 10": ({"target": 10}, "class 10 is out of range: the model has 10 classes, 0 to 9"),
    "class -1": ({"target": -1}, "out of range"),
    "class as text": ({"target": "3"}, "target must be a class"),
    "class true": ({"target": True}, "target must be a class"),
    "class 2.5": ({"target": 2.5}, "target must be a class"),
    "no image": ({"image": None}, "28 rows of 28 numbers"),
    "small image": ({"image": [[0.5] * 27] * 28}, "got shape (28, 27)"),
    "ragged image": ({"image": [[0.5] * 28] * 27 + [[0.5]]}, "28 rows of 28 numbers"),
    "values over 1": ({"image": (np.eye(28) * 255).tolist()}, "numbers in [0, 1]"),
    "blank image": ({"image": np.zeros((28, 28)).tolist()}, "no digit found"),
}


@pytest.mark.parametrize("change, message", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_a_bad_backward_request_gets_a_clear_400(server, change, message):
    request = {"image": np.eye(28).tolist(), "target": 1, **change}
    status, _, answer = call(server, "POST", "/api/backward", request)
    assert status == 400 and message in answer["error"], answer


def test_bad_json_bodies(server):
    headers = {"Content-Type": "application/json"}
    assert call(server, "POST", "/api/forward", b"{not json", headers=headers)[0] == 400
    assert call(server, "POST", "/api/forward", b"[1, 2]", headers=headers)[0] == 400
    status, _, answer = call(server, "POST", "/api/forward", b"{}", headers={"Content-Type": "text/plain"})
    assert status == 415 and "JSON" in answer["error"]
    assert call(server, "POST", "/api/forward", b"{" + b" " * 300_000 + b"}", headers=headers)[0] == 413


def test_a_failure_inside_is_one_line_500_and_the_server_goes_on(server, monkeypatch, capsys):
    def broken(image):
        raise RuntimeError("something broke\nsecond line")

    monkeypatch.setattr(server.app.explorer, "forward", broken)
    status, _, answer = call(server, "POST", "/api/forward", {"image": np.eye(28).tolist()})
    assert status == 500 and answer == {"error": "internal error: RuntimeError: something broke"}
    monkeypatch.undo()
    assert "internal error on POST /api/forward" in capsys.readouterr().err
    assert call(server, "POST", "/api/forward", {"image": np.eye(28).tolist()})[0] == 200


# ---- the command -----------------------------------------------------------------------------


def test_without_a_checkpoint_it_shows_an_untrained_model_labelled_as_such():
    server = serving(["--model", "mlp"])
    try:
        model = call(server, "GET", "/api/model")[2]
    finally:
        server.shutdown()
        server.server_close()
    assert model["trained"] is False and model["source"] is None
    assert model["name"] == "mlp" and model["summary"].startswith("UNTRAINED: random initial weights")
    assert (
        "fnn train --model mlp --out runs/mlp" in model["note"] and "--checkpoint runs/mlp" in model["note"]
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--host", "0.0.0.0"], "not 0.0.0.0"),
        (["--host", "example.com"], "must be an IP address"),
        (["--port", "70000"], "from 0 to 65535"),
        (["--checkpoint", "RUN", "--model", "cnn"], "--model is for an untrained model"),
        (["--checkpoint", "NOWHERE"], "NOWHERE"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(argv, message, tiny, capsys):
    argv = [str(tiny[0]) if a == "RUN" else a for a in argv]
    try:
        status = main(["explore", *argv, "--no-browser"])
    except SystemExit as e:  # argparse's own errors
        status = e.code
    assert status == 2 and message in capsys.readouterr().err


def test_the_command_prints_its_address_serves_and_stops_on_sigterm(tiny):
    run, npz = tiny
    command = [
        sys.executable,
        "-m",
        "fnn",
        "explore",
        "--checkpoint",
        str(run),
        "--data",
        str(npz),
        "--no-browser",
    ]
    import jax

    cache = {"JAX_COMPILATION_CACHE_DIR": jax.config.jax_compilation_cache_dir or "",
             "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0.05"}  # fmt: skip  # the suite's (conftest)
    env = {**os.environ, "DISPLAY": "", **cache}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = []
        while not any("serving at" in line for line in lines):
            line = process.stdout.readline()
            assert line, f"exited: {lines} {process.stderr.read()}"
            lines.append(line)
        url = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=(\S+)", "".join(lines))
        assert url and "mlp: trained 1 epoch(s)" in lines[0]
        port, token = int(url[1]), url[2]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", "/api/model", headers={"Authorization": f"token {token}"})
        assert connection.getresponse().status == 200
        connection.close()
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 143 and err.strip().splitlines()[-1] == "fnn explore: interrupted"


def test_the_latency_benchmark_prints_one_json_object(tiny, capsys):
    from benchmarks import explore_latency

    result = explore_latency.main(["--model", "mlp", "--data", str(tiny[1]), "--repeats", "1"])
    printed = json.loads(capsys.readouterr().out)
    assert printed["benchmark"] == result["benchmark"] == "explore_latency"
    assert (
        set(printed["repeated"])
        == set(printed["first_load_ms"])
        == {"page", "model", "preprocess", "forward", "backward", "mnist"}
    )
    assert (
        printed["model"] == "mlp"
        and printed["trained"] is False
        and printed["repeated"]["backward"]["bytes"] > 0
    )


# ---- what ships ------------------------------------------------------------------------------


def test_the_shipped_equations_are_those_of_the_derivations():
    """Fails when derivations/*.tex changed: python -m fnn.cli.explore.equations derivations/*.tex"""
    shipped = (ROOT / "fnn/cli/explore/static/equations.json").read_text(encoding="utf-8")
    assert equations.render_json(sorted((ROOT / "derivations").glob("*.tex"))) == shipped
    labels = set(
        re.findall(
            r"\\label\{(eq:[^}]+)\}", "".join(p.read_text() for p in (ROOT / "derivations").glob("*.tex"))
        )
    )
    assert set(json.loads(shipped)["equations"]) == labels


def test_the_extractor_takes_rows_notag_lines_and_nested_environments():
    tex = r"""
\begin{align}
  a &= b &&\text{(eq:one)}\label{eq:one}\\
  \text{two:}\quad & c = d,\notag\\
  & e = \begin{cases}1 & x\\ 2 & y\end{cases} &&\text{(eq:two)}\label{eq:two}
\end{align}
\begin{equation}\label{eq:three}
  f = g \qquad\text{(eq:three)} % a comment
\end{equation}"""
    assert equations.extract([tex]) == {
        "eq:one": r"\begin{aligned}a &= b\end{aligned}",
        "eq:three": "f = g",
        "eq:two": r"\begin{aligned}\text{two:}\quad & c = d, \\ & e = \begin{cases}1 & x\\ 2 & y\end{cases}\end{aligned}",
    }
    with pytest.raises(ValueError, match="eq:one is defined twice"):
        equations.extract([tex, tex])


def test_katex_is_vendored_with_its_licence_and_everything_is_package_data():
    files = static_files()
    assert {"index.html", "explore.js", "explore.css", "equations.json", "katex/katex.min.js",
            "katex/katex.min.css", "katex/LICENSE", "katex/README.md"} <= set(files)  # fmt: skip
    assert (
        "MIT License" in files["katex/LICENSE"].read_text()
        and "Khan Academy" in files["katex/LICENSE"].read_text()
    )
    assert "0.19.1" in files["katex/README.md"].read_text()
    fonts = re.findall(r"url\((fonts/[^)]+\.woff2)\)", files["katex/katex.min.css"].read_text())
    assert fonts and {f"katex/{f}" for f in fonts} <= set(files)  # every WOFF2 the stylesheet names
    assert sum(p.stat().st_size for p in files.values()) < 1.5 * 2**20
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "fnn.cli.explore"
    ]
    assert all(any(Path(name).match(g.removeprefix("static/")) for g in globs) for name in files), globs
    page = (
        files["index.html"].read_text() + files["explore.js"].read_text() + files["explore.css"].read_text()
    )
    assert not re.search(
        r"https?://(?!127\.0\.0\.1)", page.replace("http://127.0.0.1", "")
    )  # no CDN, no network
