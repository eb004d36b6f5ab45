"""`fnn explore` in a real browser (marker `slow`): Debian's `chromium`, driven through
`chromedriver` (Debian's `chromium-driver`; `.ci/run` installs both when missing).

A CNN is trained for one epoch on the packaged MNIST through `fnn.cli.main` (about 25 s on 2
cores), `fnn explore` serves it in this process, and the browser loads the page, draws a "1"
on the canvas with pointer events, reads the prediction, switches to the backward view and
reads every relative difference shown (below 1e-9), checks that the equations rendered and
that the console holds no error, saves screenshots; then picks another class, submits an empty
canvas (a clear message, no dead page), an MNIST digit by index and an image file.
`FNN_EXPLORE_SCREENSHOT=docs/explore.png` also writes the README's picture.

The driver client is a few calls of the W3C WebDriver protocol over `urllib` (new session,
navigate, find, click, actions, execute script, screenshot, and chromedriver's browser log):
no dependency, and nothing that could try to download a driver or a browser the way the
Selenium package's driver manager does when it finds none.
"""

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C key of an element reference

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
    ),
]


class WebDriver:
    """A chromedriver process and one headless Chromium session, spoken to over HTTP."""

    def __init__(self, width: int = 1280, height: int = 1600):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.process = subprocess.Popen(
            [CHROMEDRIVER, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if self._call("GET", "/status")["ready"]:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError("chromedriver did not start within 30 s")
            time.sleep(0.2)
        options = {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}", "--hide-scrollbars"],
        }  # fmt: skip
        capabilities = {"browserName": "chrome", "goog:chromeOptions": options,
                        "goog:loggingPrefs": {"browser": "ALL"}}  # fmt: skip
        session = self._call("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}})
        self.session = f"/session/{session['sessionId']}"

    def _call(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())["value"]
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"webdriver {method} {path}: {e.read()[:500]!r}") from None

    def call(self, method: str, path: str, body: dict | None = None):
        return self._call(method, self.session + path, body)

    def get(self, url: str) -> None:
        self.call("POST", "/url", {"url": url})

    def find(self, css: str) -> dict:
        return {ELEMENT: self.call("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]}

    def click(self, css: str) -> None:
        self.call("POST", f"/element/{self.find(css)[ELEMENT]}/click", {})

    def script(self, source: str, *args):
        return self.call("POST", "/execute/sync", {"script": source, "args": list(args)})

    def wait_for(self, source: str, timeout: float = 60.0):
        """Poll the script until it returns something true; return that."""
        deadline = time.monotonic() + timeout
        while not (value := self.script(source)):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for: {source}")
            time.sleep(0.1)
        return value

    def pointer(self, actions: list[dict], kind: str = "mouse") -> None:
        source = {"type": "pointer", "id": "pen", "parameters": {"pointerType": kind}, "actions": actions}
        self.call("POST", "/actions", {"actions": [source]})

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.call("GET", "/screenshot")))

    def console(self) -> list[dict]:
        """The browser's console and network messages since the last call (chromedriver's log)."""
        return self.call("POST", "/se/log", {"type": "browser"})

    def quit(self) -> None:
        try:
            self.call("DELETE", "")
        finally:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(address, layers): `fnn explore` serving a CNN trained for one epoch (the recipe's, with
    dropout), in a thread; its layers as `fnn.explore.Explorer.layers`."""
    from fnn.cli import build_parser, main
    from fnn.cli.explore import start

    folder, here = tmp_path_factory.mktemp("explore-browser"), os.getcwd()
    os.chdir(folder)  # the page names the run as a user would: runs/cnn
    try:
        argv = ["train", "--model", "cnn", "--epochs", "1", "--validation", "1000", "--quiet"]
        assert main([*argv, "--out", "runs/cnn"]) == 0
        server = start(build_parser().parse_args(["explore", "--checkpoint", "runs/cnn", "--no-browser"]))
    finally:
        os.chdir(here)
    server.app.warm_up()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.url(), server.app.explorer.layers
    server.shutdown()
    server.server_close()


@pytest.fixture
def browser():
    driver = WebDriver()
    yield driver
    driver.quit()


def save_for_readme(browser: WebDriver, path: Path, tmp_path: Path) -> None:
    """The top of the backward view, 1280 x 1500, scaled to 1000 pixels wide, as `path`:
    FNN_EXPLORE_SCREENSHOT=docs/explore.png python -m pytest -q -m slow tests/test_explore_browser.py"""
    browser.call("POST", "/window/rect", {"width": 1280, "height": 1500})
    browser.script("window.scrollTo(0, 0)")
    browser.screenshot(tmp_path / "readme.png")
    with Image.open(tmp_path / "readme.png") as shot:
        small = shot.convert("RGB").resize(
            (1000, round(shot.height * 1000 / shot.width)), Image.Resampling.LANCZOS
        )
    small.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def severe(entries: list[dict]) -> list[str]:
    return [e["message"] for e in entries if e.get("level") == "SEVERE"]


def test_draw_a_one_and_see_its_backward_pass(served, browser, tmp_path):
    url, layers = served
    browser.get(url)
    browser.wait_for("return document.body.dataset.loaded === '1'")
    # A "1": one stroke down the middle of the 280 x 280 canvas, as a finger draws it (pointer
    # events of type touch; a mouse or a pen sends the same events, with another pointerType).
    canvas = browser.find("#draw")
    stroke = [{"type": "pointerMove", "duration": 0, "origin": canvas, "x": 4, "y": -95},
              {"type": "pointerDown", "button": 0}]  # fmt: skip
    stroke += [{"type": "pointerMove", "duration": 20, "origin": canvas, "x": 4 - dy // 40, "y": dy}
               for dy in range(-90, 100, 10)]  # fmt: skip
    stroke.append({"type": "pointerUp", "button": 0})
    browser.pointer(stroke, "touch")
    browser.wait_for("return document.body.dataset.ready === '1'")
    assert browser.script("return document.getElementById('prediction').dataset.digit") == "1"
    prediction = browser.script("return document.getElementById('prediction').textContent")
    assert prediction.startswith("Prediction: 1 (")
    forward_layers = browser.script("return document.querySelectorAll('#forward-layers .layer').length")
    assert forward_layers == len(layers) == 10  # conv relu pool conv relu pool affine relu dropout affine
    browser.screenshot(tmp_path / "forward.png")

    browser.click("#tab-backward")
    assert browser.script("return document.getElementById('backward').hidden") is False
    values = browser.script(
        "return Array.from(document.querySelectorAll('#backward .reldiff')).map(e => e.dataset.rel)"
    )
    # dx of every layer, dW and db of 4, the saliency, and the largest of them all
    assert len(values) == len(layers) + sum(len(info.param_shapes) for info in layers) + 1 + 1 == 20
    assert all(float(v) < 1e-9 for v in values), values
    assert browser.script("return document.querySelectorAll('#backward .katex').length") >= len(layers)
    assert browser.script("return document.querySelectorAll('.katex-error').length") == 0
    assert browser.script("return document.getElementById('error').hidden") is True
    assert not severe(browser.console())
    browser.screenshot(tmp_path / "backward.png")
    if os.environ.get("FNN_EXPLORE_SCREENSHOT"):  # the README's picture: docs/explore.png
        save_for_readme(browser, Path(os.environ["FNN_EXPLORE_SCREENSHOT"]), tmp_path)

    # Another class: the backward view follows, still equal to jax.vjp.
    browser.script(
        "const s = document.getElementById('target'); s.value = '7'; s.dispatchEvent(new Event('change'))"
    )
    browser.wait_for("return document.body.dataset.ready === '1'")
    assert "against class 7" in browser.script("return document.getElementById('loss').textContent")
    values = browser.script(
        "return Array.from(document.querySelectorAll('#backward .reldiff')).map(e => e.dataset.rel)"
    )
    assert all(float(v) < 1e-9 for v in values), values

    # An empty canvas: a clear message on the page (the server's 400), and the page goes on.
    browser.click("#clear")
    browser.click("#classify")
    message = browser.wait_for(
        "const e = document.getElementById('error'); return !e.hidden && e.textContent"
    )
    assert "no digit found" in message and "blank" in message
    assert all("400" in m for m in severe(browser.console()))  # only the refused request

    # An MNIST test digit by its index.
    browser.script("document.getElementById('mnist-index').value = '0'")
    browser.click("#mnist-load")
    browser.wait_for("return document.body.dataset.ready === '1'")
    label = browser.script("return document.getElementById('mnist-info').textContent")
    assert re.search(r"MNIST test digit 0 of 10,000, labelled \d", label), label
    assert browser.script("return document.getElementById('error').hidden") is True

    # An image file, as the file input (or a drop) gives it: a dark "7" on light paper.
    seven = np.full((120, 100), 230, np.uint8)
    seven[20:30, 20:80] = 20
    for row in range(30, 105):
        seven[row, 70 - (row - 30) // 3 : 80 - (row - 30) // 3] = 20
    Image.fromarray(seven).save(tmp_path / "seven.png")
    chooser = browser.find("#file")[ELEMENT]
    browser.call("POST", f"/element/{chooser}/value", {"text": str(tmp_path / "seven.png")})
    browser.wait_for("return document.body.dataset.ready === '1'")
    assert browser.script("return document.getElementById('prediction').dataset.digit") == "7"
    assert not severe(browser.console())
