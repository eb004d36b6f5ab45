"""`fnn explore`: backprop on your own digit, in the browser, layer by layer.

    fnn explore [--checkpoint runs/cnn] [--port N] [--no-browser] [--host ADDRESS] [--data PATH]

Starts a local server, prints its address (with a random token) and opens the browser where
there is one. The page: draw a digit, drop an image file or pick an MNIST test digit; the
server makes it MNIST-like exactly as `fnn predict` does (`fnn.preprocess.read_image`) and
shows the 28 x 28 image the network sees and the top 3 classes. Forward: each layer's name,
constructor call, shapes and output (feature maps on one colour scale, vectors as bars).
Backward: the loss against a class you pick (default: the predicted one), the gradient each
layer passes back and its parameter gradients by the hand-written backward, beside jax.vjp's
with their largest relative difference in float64, the input saliency dL/dx, and the equations
each backward implements, rendered from the derivations' LaTeX. Without --checkpoint it trains
nothing: it shows an UNTRAINED model (--model, default cnn), labelled as such on the page, and
says how to train one. The model logic is `fnn.explore` (no HTTP); the server is `server.py`
here, with its safety checks (Host, Origin, token, sizes and types) in its docstring.

Choices, and why:
- Server: the standard library's `http.server` (`ThreadingHTTPServer`). The API is five JSON
  calls and a few static files for one local user; a framework (tornado, as Jupyter, or
  starlette with uvicorn) would add dependencies to every install of fnn for a side tool
  without removing any check we write: Jupyter too checks Host, Origin and token itself.
  `http.server` is not meant for the open internet; this one listens on 127.0.0.1 by default,
  and refuses `0.0.0.0`.
- Page: plain HTML, CSS and JavaScript (`static/`), no build step and no framework: a canvas
  for drawing, canvases for maps, bars and colour bars, `fetch` for the API.
- Maths: KaTeX 0.19.1, vendored with its licence (`static/katex/`, about 0.6 MB: the script,
  its stylesheet and its WOFF2 fonts); the equations' LaTeX is `static/equations.json`, made
  from derivations/*.tex by `python -m fnn.cli.explore.equations derivations/*.tex` (a test
  checks that it is in sync). Nothing is fetched from the network at run time.
- Speed: the model's forward, backward and float64 comparison are compiled once per model,
  at start-up in the background (`App.warm_up`); after that each answer takes milliseconds
  (benchmarks/explore_latency.py).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import secrets
import sys
import threading
import webbrowser
from pathlib import Path

__all__ = ["add_parser", "run", "start"]


def _port(text: str) -> int:
    """An argparse type: a TCP port 0..65535 (0: a free one)."""
    if not text.strip().isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(
            f"must be a port number from 0 to 65535 (0: any free port), got {text!r}"
        )
    return int(text)


def _host(text: str) -> str:
    """An argparse type: one IP address to listen on ("localhost" is 127.0.0.1)."""
    if text == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an IP address such as 127.0.0.1, got {text!r}") from None
    if address.is_unspecified:
        raise argparse.ArgumentTypeError(
            f"must be the one address the browser will use, not {text}: the server checks "
            "every request's Host header against it"
        )
    return str(address)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the `explore` command to `subparsers` (of `argparse`); it runs `run`."""
    from fnn.models import MODELS

    p = subparsers.add_parser(
        "explore",
        help="see backprop on your own digit in the browser, layer by layer",
        description="Start a local server and open a page that shows a model's forward and "
        "hand-written backward on a digit you draw, drop or pick, beside jax.vjp's.",
    )
    p.add_argument("--checkpoint", metavar="DIR", help="a run folder (fnn train --out) or its checkpoint.npz")
    p.add_argument(
        "--model",
        choices=sorted(MODELS),
        help="without --checkpoint: the UNTRAINED model to show, random weights (default cnn)",
    )
    p.add_argument(
        "--data",
        metavar="PATH",
        help="MNIST file or IDX folder to pick test digits from; unless given, FNN_MNIST, the "
        "copy in the package or ~/.cache/fnn (never downloaded)",
    )
    p.add_argument(
        "--host",
        type=_host,
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    p.add_argument("--port", type=_port, default=0, help="port to listen on (default 0: any free port)")
    p.add_argument("--no-browser", action="store_true", help="print the address only; open no browser")
    p.set_defaults(run=run)
    return p


def _describe_run(path: str, loaded) -> dict:
    """What the page says of a trained run: its model, epochs, best validation and test accuracy."""
    meta = loaded.settings
    history = [h for h in meta.get("history", []) if isinstance(h, dict)]
    parts = [f"trained {meta.get('epochs_done', len(history))} epoch(s) by fnn train"]
    scored = [h for h in history if isinstance(h.get("val_accuracy"), (int, float))]
    if scored:
        best = max(scored, key=lambda h: h["val_accuracy"])
        parts.append(
            f"best epoch {best.get('epoch', '?')} (validation accuracy {100 * best['val_accuracy']:.2f}%)"
        )
    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    try:
        test = json.loads((folder / "metrics.json").read_text())["test_accuracy"]
        parts.append(f"test accuracy {100 * float(test):.2f}%")
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return {
        "name": str(meta["model"]),
        "trained": True,
        "source": str(path),
        "summary": ", ".join(parts),
        "note": "",
    }


def _model(args: argparse.Namespace):
    """(Explorer, description) of --checkpoint's run, or of an untrained --model."""
    import jax

    from fnn import models
    from fnn.cli.usage import UsageError
    from fnn.explore import Explorer

    if args.checkpoint:
        if args.model:
            raise UsageError("--model is for an untrained model; a --checkpoint's run names its own")
        loaded = models.load(args.checkpoint)
        explorer = Explorer(loaded.model, loaded.params, loaded.state, loaded.pixel_mean, models.INPUT_SHAPE)
        return explorer, _describe_run(args.checkpoint, loaded)
    name = args.model or "cnn"
    model = models.MODELS[name]()
    _, params, state = model.init(jax.random.key(0), models.INPUT_SHAPE)
    how = f"fnn train --model {name} --out runs/{name}"
    description = {
        "name": name,
        "trained": False,
        "source": None,
        "summary": "UNTRAINED: random initial weights (seed 0); its predictions mean nothing",
        "note": f"No --checkpoint given. Train one with `{how}`, then run `fnn explore --checkpoint runs/{name}`.",
    }
    return Explorer(model, params, state, None, models.INPUT_SHAPE), description


def _mnist_test(path: str | None):
    """A loader of MNIST's test split for the App: the data never downloads."""

    def load():
        from fnn import data
        from fnn.cli.explore.server import HttpError

        try:
            mnist = data.load_mnist(data.find_mnist(path, allow_download=False), validation=0)
        except data.DataError as e:
            first = (str(e).splitlines() or [""])[0]
            raise HttpError(
                404, f"no MNIST test digits: {first} (start fnn explore with --data PATH)"
            ) from None
        return mnist.test.x, mnist.test.labels, mnist.source

    return load


def start(args: argparse.Namespace):
    """The Server for `args`, bound but not yet serving, and its model not yet compiled:
    `server.app.warm_up()` compiles it, `server.serve_forever()` serves."""
    from fnn.cli.explore.server import App, serve
    from fnn.cli.usage import UsageError

    explorer, description = _model(args)
    app = App(explorer, description, secrets.token_urlsafe(32), _mnist_test(args.data))
    try:
        return serve(app, args.host, args.port, debug=getattr(args, "debug", False))
    except OSError as e:
        raise UsageError(
            f"--host {args.host} --port {args.port}: cannot listen there ({e.strerror or e})"
        ) from None


def _can_open_browser() -> bool:
    """A graphical browser is likely: not a Linux session without a display (where Python's
    webbrowser would start a text browser inside this terminal)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def run(args: argparse.Namespace) -> int:
    """`fnn explore`: serve the page until Ctrl-C or SIGTERM (main reports the interrupt)."""
    server = start(args)
    app, url = server.app, server.url()
    try:
        print(f"fnn explore: {app.description['name']}: {app.description['summary']}", flush=True)
        if app.description["note"]:
            print(f"fnn explore: {app.description['note']}", flush=True)
        if not ipaddress.ip_address(args.host).is_loopback:
            print(
                f"fnn explore: WARNING: listening on {args.host}: whoever reaches it and has the token "
                "can use this server, and the traffic is not encrypted",
                file=sys.stderr,
            )

        def warm_up():
            print(f"fnn explore: model compiled in {app.warm_up():.1f} s", flush=True)

        threading.Thread(target=warm_up, name="fnn-explore-warm-up", daemon=True).start()
        print(f"fnn explore: serving at {url}", flush=True)
        print("fnn explore: open that address in a browser; Ctrl-C stops the server", flush=True)
        if not args.no_browser and _can_open_browser():
            try:
                webbrowser.open(url)
            except webbrowser.Error:
                pass
        server.serve_forever()
    finally:
        server.server_close()
        app.close()  # waits for a compilation in progress: exiting during one aborts the process
    return 0
