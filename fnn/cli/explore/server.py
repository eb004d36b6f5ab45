"""The HTTP side of `fnn explore`: `App` answers the API (no HTTP in it), `Handler` speaks HTTP
and checks every request first, `serve` binds the server.

Checks, in this order, on every request (a refusal is a 4xx with one line of JSON or text):
1. Host: the Host header must name this server exactly as the browser reaches it
   (`127.0.0.1:PORT`, `localhost:PORT` or `[::1]:PORT` on a loopback address; `ADDRESS:PORT`
   otherwise). A page on another site whose name an attacker points at 127.0.0.1 (DNS
   rebinding) sends its own name: 403.
2. Origin: when a browser sends one, it must be `http://` + an allowed Host: 403 otherwise.
   A foreign page's fetch or form post carries its own origin.
3. Token: every `/api/` call carries `Authorization: token TOKEN` (compared in constant time),
   the page `/` carries `?token=TOKEN` (the printed URL): 403 without it. Static files (the
   page's script, style, KaTeX, the equations) are the package's own and public; they need no
   token but pass the Host and Origin checks.
Then the method (405), the body's declared size before it is read (413; 411 without a
Content-Length, chunked bodies refused), its type (415) and its content (400 with the reason:
an empty canvas, a corrupt or 10,000 x 10,000 image, a class out of range, a bad index). A
failure inside (a bug) answers 500 with one line and the server goes on; no traceback is ever
sent. Nothing a request carries is run: uploads are decoded by PIL or by numpy without pickles.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import json
import mimetypes
import re
import socket
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from fnn.explore import CHAIN_LABELS, LOSS_LABELS, Explorer
from fnn.predict import top_classes
from fnn.preprocess import PreprocessError, read_image, require_ink

__all__ = ["App", "HttpError", "Handler", "serve", "MAX_UPLOAD", "MAX_JSON", "static_files"]

MAX_UPLOAD = 10 * 2**20  # bytes: a phone's photo fits; fnn.preprocess refuses more than 8192^2 pixels
MAX_JSON = 256 * 2**10  # bytes: an image of 784 numbers and a class
DRAIN = 64 * 2**20  # a body over the limit but under this is read and dropped before the refusal
TOP = 3
UPLOAD_TYPES = ("", "image/png", "image/jpeg", "application/octet-stream", "application/x-npy")
# What an upload's first bytes say it is: read ones, and well-known others (named in the refusal).
READ = {b"\x89PNG\r\n\x1a\n": ".png", b"\xff\xd8\xff": ".jpg", b"\x93NUMPY": ".npy"}
OTHERS = {
    b"GIF8": "GIF",
    b"BM": "BMP",
    b"%PDF": "PDF",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"PK\x03\x04": "ZIP",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".json": "application/json", ".woff2": "font/woff2",
                 ".md": "text/plain; charset=utf-8", "": "text/plain; charset=utf-8"}  # fmt: skip


class HttpError(Exception):
    """A request refused: its status and the one-line reason the page shows."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def static_files() -> dict[str, Path]:
    """{URL path under /static/: file} for every file the page may load (package data)."""
    root = Path(str(resources.files("fnn.cli.explore") / "static"))
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


def encode(array: np.ndarray) -> dict:
    """An array for the page: its shape and its values as little-endian float32, base64."""
    values = np.ascontiguousarray(np.asarray(array), dtype="<f4")
    return {"shape": list(values.shape), "data": base64.b64encode(values.tobytes()).decode("ascii")}


def _number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None  # JSON has no NaN


class App:
    """The explorer's answers, one method per endpoint; each returns a JSON-ready dict or raises
    HttpError. Model computations run one at a time (a lock): they share compiled functions.

    Args:
        explorer: the model to show. description: what the page says of it ({"name", "trained",
            "source", "summary", "note"}). token: the secret of the printed URL.
        load_mnist_test: () -> (images (N, 28, 28, 1) float32 in [0, 1], labels (N,), source),
            called on the first request for a test digit; it raises HttpError when there is none.
    """

    def __init__(
        self,
        explorer: Explorer,
        description: dict,
        token: str,
        load_mnist_test: Callable[[], tuple[np.ndarray, np.ndarray, str]],
    ):
        self.explorer, self.description, self.token = explorer, description, token
        self._load_mnist_test, self._mnist = load_mnist_test, None
        self._compute, self._mnist_lock, self._decode = threading.Lock(), threading.Lock(), threading.Lock()

    def warm_up(self) -> float:
        """Compile forward and backward (once per model); the seconds it took."""
        start = time.perf_counter()
        stroke = np.zeros((28, 28, 1), np.float32)
        stroke[4:24, 13:15] = 1.0
        with self._compute:
            self.explorer.forward(stroke)
            self.explorer.backward(stroke, 0)
        return time.perf_counter() - start

    def close(self) -> None:
        """Wait for the computation in progress (the warm-up's compilation, a request's) and let
        no other start: the process may then exit. (XLA aborts a process that exits while one
        of its threads compiles.)"""
        self._compute.acquire()

    def model(self) -> dict:
        """GET /api/model: the model, its layers and the equations they implement."""
        ex = self.explorer
        return {
            **self.description,
            "classes": ex.num_classes,
            "in_shape": list(ex.in_shape),
            "layers": [
                {
                    "name": info.name,
                    "call": info.call,
                    "in_shape": list(info.in_shape),
                    "out_shape": list(info.out_shape),
                    "params": {key: list(shape) for key, shape in info.param_shapes.items()},
                    "equations": list(info.equations),
                }
                for info in ex.layers
            ],
            "chain_equations": list(CHAIN_LABELS),
            "loss_equations": list(LOSS_LABELS),
            "limits": {"upload_bytes": MAX_UPLOAD, "types": ["PNG", "JPEG", ".npy"]},
        }

    def _seen(self, image: np.ndarray, extra: dict | None = None) -> dict:
        """What the page shows of an image: its 28 x 28 pixels and the top classes."""
        with self._compute:
            probabilities = self.explorer.forward(image).probabilities
        return {
            "image": image[..., 0].tolist(),
            "probabilities": [float(p) for p in probabilities],
            "top": top_classes(probabilities, min(TOP, len(probabilities))),
            **(extra or {}),
        }

    def preprocess(self, body: bytes) -> dict:
        """POST /api/preprocess: an uploaded PNG, JPEG or .npy (or the canvas, as a PNG) made
        MNIST-like exactly as `fnn predict` makes a file (`fnn.preprocess.read_image`)."""
        if not body:
            raise HttpError(400, "the upload is empty: draw a digit, or choose a PNG, JPEG or .npy file")
        suffix = next((s for magic, s in READ.items() if body.startswith(magic)), None)
        if suffix is None:
            kind = next((name for magic, name in OTHERS.items() if body.startswith(magic)), None)
            if kind is None and body[:4] == b"RIFF" and body[8:12] == b"WEBP":
                kind = "WebP"
            raise HttpError(
                415,
                f"unsupported file type{f' ({kind})' if kind else ''}: upload a PNG, JPEG or .npy file",
            )
        # NOTE: one decoding at a time: a picture within the pixel limit may still take 1 GB
        with self._decode, tempfile.TemporaryDirectory(prefix="fnn-explore-") as folder:
            path = Path(folder) / f"upload{suffix}"
            path.write_bytes(body)
            try:
                image = read_image(path)
            except PreprocessError as e:
                message = str(e).replace(str(path), "the uploaded file")
                raise HttpError(400, message) from None
        return self._seen(image)

    def mnist(self, query: dict[str, list[str]]) -> dict:
        """GET /api/mnist?index=I: test digit I of MNIST (as `fnn.data.load_mnist` orders the
        test split), already MNIST-like: it is used as it is."""
        text = (query.get("index") or [""])[0]
        if not re.fullmatch(r"\s*\d{1,9}\s*", text):
            raise HttpError(400, f"index must be a whole number >= 0, got {text!r}")
        with self._mnist_lock:
            if self._mnist is None:
                self._mnist = self._load_mnist_test()
        images, labels, source = self._mnist
        index = int(text)
        if index >= len(images):
            raise HttpError(
                400,
                f"index {index} is out of range: the MNIST test split has {len(images):,} digits, "
                f"0 to {len(images) - 1}",
            )
        extra = {"index": index, "label": int(labels[index]), "count": len(images), "source": source}
        return self._seen(np.asarray(images[index], np.float32), extra)

    def _image(self, request: dict) -> np.ndarray:
        """The 28 x 28 image of a JSON request, checked: numbers in [0, 1], not blank."""
        value = request.get("image")
        try:
            image = np.asarray(value, np.float64)
        except (TypeError, ValueError):
            raise HttpError(400, "image must be 28 rows of 28 numbers in [0, 1]") from None
        if image.shape not in ((28, 28), (28, 28, 1)) or image.dtype.kind != "f":
            raise HttpError(400, f"image must be 28 rows of 28 numbers in [0, 1], got shape {image.shape}")
        if not np.isfinite(image).all() or image.min() < 0 or image.max() > 1:
            raise HttpError(400, "image must hold numbers in [0, 1]")
        try:
            require_ink(image.reshape(28, 28))
        except PreprocessError as e:
            raise HttpError(400, str(e)) from None
        return image.reshape(28, 28, 1).astype(np.float32)

    def forward(self, request: dict) -> dict:
        """POST /api/forward {"image"}: every layer's output, the probabilities and top classes."""
        image = self._image(request)
        with self._compute:
            result = self.explorer.forward(image)
        return {
            "layers": [{"output": encode(y)} for y in result.outputs],
            "scores": [float(s) for s in result.scores],
            "probabilities": [float(p) for p in result.probabilities],
            "top": top_classes(result.probabilities, min(TOP, len(result.probabilities))),
        }

    def backward(self, request: dict) -> dict:
        """POST /api/backward, an image and a target class: each layer's gradients, by the
        hand-written chain (eq:serial-chain) and by jax.vjp (`fnn.explore.Explorer.backward`)."""
        image, target = self._image(request), request.get("target")
        classes = self.explorer.num_classes
        if isinstance(target, bool) or not isinstance(target, int):
            raise HttpError(
                400, f"target must be a class, a whole number from 0 to {classes - 1}, got {target!r}"
            )
        if not 0 <= target < classes:
            raise HttpError(
                400, f"class {target} is out of range: the model has {classes} classes, 0 to {classes - 1}"
            )
        with self._compute:
            result = self.explorer.backward(image, target)
        return {
            "target": result.target,
            "loss": _number(result.loss),
            "dscores": encode(result.dscores),
            "layers": [
                {
                    "dx": encode(g.dx),
                    "dx_vjp": encode(g.dx_vjp),
                    "dparams": {key: encode(v) for key, v in g.dparams.items()},
                    "dparams_vjp": {key: encode(v) for key, v in g.dparams_vjp.items()},
                    "relative": {key: _number(v) for key, v in g.relative.items()},
                }
                for g in result.layers
            ],
            "saliency": encode(result.saliency),
            "saliency_grad": encode(result.saliency_grad),
            "saliency_relative": _number(result.saliency_relative),
            "max_relative": _number(result.max_relative()),
        }


class Handler(BaseHTTPRequestHandler):
    """One request: the checks of the module docstring, then the App's answer."""

    server: Server
    protocol_version = "HTTP/1.1"
    server_version = "fnn-explore"
    sys_version = ""
    timeout = 30  # seconds a connection may stay silent (a stalled upload)

    def setup(self) -> None:
        super().setup()
        # NOTE: headers and body leave in two writes; with Nagle's algorithm the body then waits
        # for the client's delayed ACK (40 ms on Linux) whenever it is small.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the terminal shows the URL and errors, not every request."""

    def _send(self, status: int, body: bytes, content_type: str, extra: dict | None = None) -> None:
        length = (self.headers.get("Content-Length") or "0").strip()
        has_body = bool(self.headers.get("Transfer-Encoding")) or length not in ("", "0")
        if has_body and not self._consumed:  # a body left unread would be taken for the next request
            self.close_connection = True
        self.send_response(status)
        if self.close_connection:
            self.send_header("Connection", "close")
        headers = {
            "Content-Type": content_type,
            "Content-Length": str(len(body)),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
            **(extra or {}),
        }
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: dict, extra: dict | None = None) -> None:
        self._send(status, json.dumps(payload, allow_nan=False).encode(), "application/json", extra)

    def _refuse(self, error: HttpError) -> None:
        if self.path.startswith("/api/"):
            self._json(error.status, {"error": error.message})
        else:
            self._send(error.status, f"fnn explore: {error.message}\n".encode(), "text/plain; charset=utf-8")

    def _check_host_and_origin(self) -> None:
        """Checks 1 and 2 of the module docstring."""
        hosts = self.headers.get_all("Host") or []
        if len(hosts) != 1 or hosts[0].strip().lower() not in self.server.allowed_hosts:
            shown = hosts[0] if len(hosts) == 1 else f"{len(hosts)} Host headers"
            raise HttpError(
                403,
                f"refused: Host {shown!r} is not this server's; open the address fnn explore printed",
            )
        origins = self.headers.get_all("Origin") or []
        if origins and (len(origins) != 1 or origins[0].strip().lower() not in self.server.allowed_origins):
            raise HttpError(403, f"refused: a request from another site (Origin {origins[0]!r})")

    def _check_token(self, given: str | None) -> None:
        if not given or not hmac.compare_digest(given.encode(), self.server.app.token.encode()):
            raise HttpError(
                403, "refused: this needs the token of the address fnn explore printed (missing or wrong)"
            )

    def _body(self, limit: int) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            raise HttpError(411, "send the body with a Content-Length, not chunked")
        length = self.headers.get("Content-Length")
        if length is None or not length.strip().isdigit():
            raise HttpError(411, "a Content-Length header is required")
        size = int(length)
        if size > limit:
            if size <= DRAIN:  # read and drop it, so that the client sees the answer, not a reset
                for start in range(0, size, 2**20):
                    self.rfile.read(min(2**20, size - start))
                self._consumed = True
            raise HttpError(413, f"too large: {size:,} bytes, more than the limit of {limit:,}")
        self._consumed = True
        return self.rfile.read(size)

    def _upload(self) -> bytes:
        """An upload's bytes: declared (if at all) as a picture or as bytes, within MAX_UPLOAD.
        What it is, is read from its first bytes (`App.preprocess`)."""
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if kind not in UPLOAD_TYPES:
            raise HttpError(415, f"unsupported file type {kind}: upload a PNG, JPEG or .npy file")
        return self._body(MAX_UPLOAD)

    def _json_body(self) -> dict:
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise HttpError(415, f"send JSON (Content-Type application/json), got {kind or 'none'!r}")
        try:
            request = json.loads(self._body(MAX_JSON))
        except (ValueError, UnicodeDecodeError):
            raise HttpError(400, "the body is not valid JSON") from None
        if not isinstance(request, dict):
            raise HttpError(400, "the body must be a JSON object")
        return request

    def _route(self) -> None:
        url = urlsplit(self.path)
        self._check_host_and_origin()
        if url.path == "/":
            if self.command not in ("GET", "HEAD"):
                raise HttpError(405, f"{self.command} is not allowed here")
            self._check_token((parse_qs(url.query).get("token") or [None])[0])
            page = self.server.static["index.html"].read_bytes()
            self._send(200, page, CONTENT_TYPES[".html"], {"Content-Security-Policy": CSP})
            return
        if url.path.startswith("/static/"):
            if self.command not in ("GET", "HEAD"):
                raise HttpError(405, f"{self.command} is not allowed here")
            file = self.server.static.get(url.path.removeprefix("/static/"))
            if file is None:
                raise HttpError(404, f"no such file: {url.path}")
            kind = (
                CONTENT_TYPES.get(file.suffix)
                or mimetypes.guess_type(file.name)[0]
                or "application/octet-stream"
            )
            self._send(200, file.read_bytes(), kind, {"Cache-Control": "no-cache"})
            return
        if not url.path.startswith("/api/"):
            raise HttpError(404, f"no such page: {url.path}")
        header = self.headers.get("Authorization") or ""
        self._check_token(header[len("token ") :].strip() if header.lower().startswith("token ") else None)
        app = self.server.app
        routes = {
            "/api/model": ("GET", lambda: app.model()),
            "/api/mnist": ("GET", lambda: app.mnist(parse_qs(url.query))),
            "/api/preprocess": ("POST", lambda: app.preprocess(self._upload())),
            "/api/forward": ("POST", lambda: app.forward(self._json_body())),
            "/api/backward": ("POST", lambda: app.backward(self._json_body())),
        }
        if url.path not in routes:
            raise HttpError(404, f"no such API call: {url.path}")
        method, answer = routes[url.path]
        if self.command != method:
            raise HttpError(405, f"{url.path} takes {method}, not {self.command}")
        start = time.perf_counter()
        payload = answer()
        elapsed = 1e3 * (time.perf_counter() - start)
        self._json(200, payload, {"Server-Timing": f"compute;dur={elapsed:.1f}"})

    def _handle(self) -> None:
        self._consumed = False
        try:
            self._route()
        except HttpError as e:
            self._refuse(e)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # noqa: BLE001 - a bug answers 500 in one line; the server goes on
            first = (str(e).splitlines() or [""])[0]
            print(f"fnn explore: internal error on {self.command} {urlsplit(self.path).path}: "
                  f"{type(e).__name__}: {first}", file=sys.stderr)  # fmt: skip
            if self.server.debug:
                traceback.print_exc()
            self.close_connection = True
            self._refuse(HttpError(500, f"internal error: {type(e).__name__}: {first}"))

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _handle  # noqa: N815


class Server(ThreadingHTTPServer):
    """A threading HTTP server that knows its App, its allowed Host and Origin values and the
    static files; a failed connection prints one line, never a traceback."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App, *, debug: bool = False):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, Handler)
        self.app, self.debug, self.static = app, debug, static_files()
        host, port = address[0], self.server_address[1]
        names = {host}
        if ipaddress.ip_address(host).is_loopback:
            names |= {"127.0.0.1", "localhost", "::1"}
        shown = {f"[{n}]" if ":" in n else n for n in names}
        self.allowed_hosts = {f"{n}:{port}".lower() for n in shown} | (
            {n.lower() for n in shown} if port == 80 else set()
        )
        self.allowed_origins = {f"http://{h}" for h in self.allowed_hosts}
        self.url_host = f"[{host}]" if ":" in host else host
        self.port = port

    def url(self) -> str:
        """The address to open, with the token."""
        return f"http://{self.url_host}:{self.port}/?token={self.app.token}"

    def handle_error(self, request, client_address) -> None:
        error = sys.exc_info()[1]
        print(f"fnn explore: connection from {client_address[0]} failed: {type(error).__name__}: {error}",
              file=sys.stderr)  # fmt: skip


def serve(app: App, host: str = "127.0.0.1", port: int = 0, *, debug: bool = False) -> Server:
    """A Server for `app` bound to (host, port) (port 0: a free one), not yet serving: call
    `serve_forever()` (in a thread, for tests) and `shutdown()`, `server_close()` to stop."""
    return Server((host, port), app, debug=debug)
