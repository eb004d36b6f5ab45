"""Latency of `fnn explore`'s API for a model (default: the CNN, untrained unless --checkpoint):
the server runs in this process as the command starts it, and a client on a kept-alive
connection, as a browser's, times each call from request to parsed JSON. Prints JSON.

    python -m benchmarks.explore_latency [--checkpoint runs/cnn | --model cnn] [--repeats 30]

"first_load" is a fresh server's first call of each kind, in the order the page makes them
(the page, the model, an upload, forward, backward, an MNIST digit), without the warm-up
that `fnn explore` starts at once: the first upload compiles the forward pass, the first
backward the hand-written chain and the float64 comparison, the first MNIST digit reads the
data set. "repeated" is each call again, `--repeats` times, round robin: median, 90th
percentile and maximum in milliseconds, and the answer's size. The target (issue: `fnn
explore`) is under 300 ms for every repeated call on the CNN.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import threading
import time

import numpy as np

from benchmarks.common import add_malloc_flag, emit, setup

TARGET_MS = 300


def _digit_png() -> bytes:
    """A dark "4" on light paper, 200 x 160 pixels."""
    from PIL import Image

    image = np.full((200, 160), 235, np.uint8)
    image[20:120, 30:44] = 15
    image[106:120, 30:130] = 15
    image[40:185, 100:114] = 15
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG")
    return out.getvalue()


def main(argv=None) -> dict:
    from fnn.cli import build_parser
    from fnn.cli.explore import start

    parser = argparse.ArgumentParser(prog="python -m benchmarks.explore_latency", description=__doc__)
    parser.add_argument("--checkpoint", help="a run folder; unless given, an untrained --model")
    parser.add_argument(
        "--model", default="cnn", help="without --checkpoint: the untrained model (default cnn)"
    )
    parser.add_argument("--data", help="MNIST for the test digit (default: fnn's own lookup)")
    parser.add_argument("--repeats", type=int, default=30)
    add_malloc_flag(parser)
    args = parser.parse_args(argv)
    settings = setup(args)

    command = ["explore", "--no-browser"]
    command += ["--checkpoint", args.checkpoint] if args.checkpoint else ["--model", args.model]
    command += ["--data", args.data] if args.data else []
    started = time.perf_counter()
    server = start(build_parser().parse_args(command))
    load_seconds = time.perf_counter() - started
    threading.Thread(target=server.serve_forever, daemon=True).start()
    token = server.app.token
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    image: list = []

    def call(
        method: str, path: str, body: bytes | None = None, kind: str | None = None
    ) -> tuple[float, int, dict]:
        headers = {"Authorization": f"token {token}"} | ({"Content-Type": kind} if kind else {})
        start_call = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        payload = json.loads(data) if response.headers.get("Content-Type") == "application/json" else {}
        elapsed = 1e3 * (time.perf_counter() - start_call)
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:200]!r}")
        return elapsed, len(data), payload

    png = _digit_png()

    def as_json(extra: dict) -> bytes:
        return json.dumps({"image": image, **extra}).encode()

    calls = {
        "page": lambda: call("GET", f"/?token={token}"),
        "model": lambda: call("GET", "/api/model"),
        "preprocess": lambda: call("POST", "/api/preprocess", png, "image/png"),
        "forward": lambda: call("POST", "/api/forward", as_json({}), "application/json"),
        "backward": lambda: call("POST", "/api/backward", as_json({"target": 3}), "application/json"),
        "mnist": lambda: call("GET", "/api/mnist?index=0"),
    }
    first, sizes = {}, {}
    try:
        for name, fn in calls.items():
            elapsed, size, payload = fn()
            first[name] = round(elapsed, 1)
            sizes[name] = size
            if name == "preprocess":
                image = payload["image"]
        times = {name: [] for name in calls}
        for _ in range(args.repeats):
            for name, fn in calls.items():
                times[name].append(fn()[0])
    finally:
        connection.close()
        server.shutdown()
        server.server_close()

    repeated = {
        name: {
            "median_ms": round(float(np.median(t)), 1),
            "p90_ms": round(float(np.percentile(t, 90)), 1),
            "max_ms": round(float(np.max(t)), 1),
            "bytes": sizes[name],
        }
        for name, t in times.items()
    }
    result = {
        "benchmark": "explore_latency",
        **settings,
        "model": server.app.description["name"],
        "trained": server.app.description["trained"],
        "repeats": args.repeats,
        "load_seconds": round(load_seconds, 2),
        "first_load_ms": first,
        "repeated": repeated,
        "target_ms": TARGET_MS,
        "all_repeated_under_target": all(r["max_ms"] < TARGET_MS for r in repeated.values()),
    }
    emit(result)
    return result


if __name__ == "__main__":
    main()
