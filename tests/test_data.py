import gzip
import hashlib
import http.server
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from conftest import synthetic_arrays

from fnn import data
from fnn.data import DataError, load_mnist, read_mnist_file


def write_mat(path, arrays):
    x_train, y_train, x_test, y_test = arrays
    mat = {}
    for d in range(10):  # class-sorted, like the assignment's file
        mat[f"train{d}"] = x_train[y_train == d]
        mat[f"test{d}"] = x_test[y_test == d]
    scipy.io.savemat(path, mat)


def idx_bytes(array):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(folder, arrays, compress):
    x_train, y_train, x_test, y_test = arrays
    folder.mkdir(parents=True, exist_ok=True)
    parts = {
        "train-images-idx3-ubyte": x_train.reshape(-1, 28, 28),
        "train-labels-idx1-ubyte": y_train,
        "t10k-images-idx3-ubyte": x_test.reshape(-1, 28, 28),
        "t10k-labels-idx1-ubyte": y_test,
    }
    for stem, array in parts.items():
        if compress:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(idx_bytes(array)))
        else:
            (folder / stem).write_bytes(idx_bytes(array))
    return folder


@pytest.fixture
def arrays():
    return synthetic_arrays()


def as_sorted_set(x, y):
    return sorted(zip(y.tolist(), map(bytes, x)))


@pytest.mark.parametrize("fmt", ["mat", "npz", "idx", "idx.gz"])
def test_every_format_reads_the_same_examples(tmp_path, arrays, fmt):
    if fmt == "mat":
        path = tmp_path / "mnist_all.mat"
        write_mat(path, arrays)
    elif fmt == "npz":
        path = tmp_path / "mnist.npz"
        np.savez(
            path, x_train=arrays[0].reshape(-1, 28, 28), y_train=arrays[1], x_test=arrays[2], y_test=arrays[3]
        )
    else:
        path = write_idx(tmp_path / "idx", arrays, compress=fmt == "idx.gz")
    x_train, y_train, x_test, y_test = read_mnist_file(path)
    assert as_sorted_set(x_train, y_train) == as_sorted_set(arrays[0], arrays[1])
    assert as_sorted_set(x_test, y_test) == as_sorted_set(arrays[2], arrays[3])


def test_load_mnist_splits_shuffles_scales_and_is_deterministic(tmp_path, arrays):
    path = tmp_path / "mnist_all.mat"
    write_mat(path, arrays)
    mnist = load_mnist(path, validation=50, seed=3)
    assert mnist.train.x.shape == (250, 28, 28, 1) and mnist.validation.x.shape == (50, 28, 28, 1)
    assert mnist.test.x.shape == (100, 28, 28, 1)
    assert mnist.train.x.dtype == np.float32 and mnist.train.labels.dtype == np.int32
    assert 0.0 <= mnist.train.x.min() and mnist.train.x.max() <= 1.0
    assert len(set(mnist.train.labels[:20].tolist())) > 3  # not class-sorted any more
    again = load_mnist(path, validation=50, seed=3)
    np.testing.assert_array_equal(again.train.x, mnist.train.x)
    other = load_mnist(path, validation=50, seed=4)
    assert not np.array_equal(other.train.labels, mnist.train.labels)


def test_subtract_mean_is_fit_on_train_only(tmp_path, arrays):
    path = tmp_path / "mnist_all.mat"
    write_mat(path, arrays)
    plain = load_mnist(path, validation=50)
    centred = load_mnist(path, validation=50, subtract_mean=True)
    np.testing.assert_allclose(centred.pixel_mean, plain.train.x.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(centred.test.x, plain.test.x - plain.train.x.mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(centred.train.x.mean(axis=0), 0.0, atol=1e-6)


def test_the_shipped_file_is_the_real_mnist():
    digest = hashlib.sha256(data.REPO_MAT.read_bytes()).hexdigest()
    assert digest == data.MAT_SHA256
    mnist = load_mnist(data.REPO_MAT)
    assert (len(mnist.train.x), len(mnist.validation.x), len(mnist.test.x)) == (55000, 5000, 10000)
    assert np.bincount(mnist.test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p.write_bytes(p.read_bytes()[:500]), "could not read"),
        (lambda p: p.write_bytes(b"not a mat file at all" * 10), "could not read"),
    ],
)
def test_damaged_mat_file_gives_a_clear_error(tmp_path, arrays, damage, message):
    path = tmp_path / "mnist_all.mat"
    write_mat(path, arrays)
    damage(path)
    with pytest.raises(DataError, match=message):
        load_mnist(path)


def test_foreign_files_and_bad_labels_are_refused(tmp_path, arrays):
    scipy.io.savemat(tmp_path / "other.mat", {"x": np.zeros(3)})
    with pytest.raises(DataError, match="missing keys"):
        read_mnist_file(tmp_path / "other.mat")
    np.savez(
        tmp_path / "bad.npz", x_train=arrays[0], y_train=arrays[1] + 5, x_test=arrays[2], y_test=arrays[3]
    )
    with pytest.raises(DataError, match=r"labels must lie in \[0, 10\)"):
        read_mnist_file(tmp_path / "bad.npz")
    folder = write_idx(tmp_path / "idx", arrays, compress=False)
    raw = (folder / "train-images-idx3-ubyte").read_bytes()
    (folder / "train-images-idx3-ubyte").write_bytes(raw[:-100])
    with pytest.raises(DataError, match="truncated IDX"):
        read_mnist_file(folder)
    (tmp_path / "mnist.csv").write_text("1,2,3")
    with pytest.raises(DataError, match="unknown MNIST format"):
        read_mnist_file(tmp_path / "mnist.csv")
    with pytest.raises(DataError, match="does not exist"):
        load_mnist(tmp_path / "nowhere.mat")


@pytest.fixture
def no_local_mnist(tmp_path, monkeypatch):
    """Hide every local source: no FNN_MNIST, no repository copy, an empty cache."""
    monkeypatch.delenv("FNN_MNIST", raising=False)
    monkeypatch.setattr(data, "REPO_MAT", tmp_path / "repo" / "mnist_all.mat")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def test_search_order_env_then_repository_then_cache(no_local_mnist, arrays, monkeypatch):
    tmp = no_local_mnist
    cached = tmp / "cache" / "fnn" / "mnist_all.mat"
    cached.parent.mkdir(parents=True)
    write_mat(cached, arrays)
    assert data.find_mnist(allow_download=False) == cached
    data.REPO_MAT.parent.mkdir()
    write_mat(data.REPO_MAT, arrays)
    assert data.find_mnist(allow_download=False) == data.REPO_MAT
    env = tmp / "env.npz"
    np.savez(env, x_train=arrays[0], y_train=arrays[1], x_test=arrays[2], y_test=arrays[3])
    monkeypatch.setenv("FNN_MNIST", str(env))
    assert data.find_mnist(allow_download=False) == env
    assert data.find_mnist(tmp / "repo" / "mnist_all.mat") == data.REPO_MAT  # explicit path first


def test_nothing_found_says_what_was_tried(no_local_mnist):
    with pytest.raises(DataError) as info:
        data.find_mnist(mirrors=("http://127.0.0.1:9/",))
    message = str(info.value)
    assert "repository" in message and "cache" in message and "download" in message and "FNN_MNIST" in message


class _Server:
    """A local http.server on 127.0.0.1 serving files from a dict, optionally misbehaving."""

    def __init__(self, files, truncate=False):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = files.get(self.path.lstrip("/"))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if outer.truncate else body)

            def log_message(self, *args):
                """Silence the per-request log lines."""

        self.truncate = truncate
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def gz_files(arrays):
    folder = {}
    x_train, y_train, x_test, y_test = arrays
    for name, array in (
        ("train-images-idx3-ubyte.gz", x_train.reshape(-1, 28, 28)),
        ("train-labels-idx1-ubyte.gz", y_train),
        ("t10k-images-idx3-ubyte.gz", x_test.reshape(-1, 28, 28)),
        ("t10k-labels-idx1-ubyte.gz", y_test),
    ):
        folder[name] = gzip.compress(idx_bytes(array), mtime=0)
    return folder


def test_download_from_a_mirror_is_checked_and_lands_in_the_cache(no_local_mnist, arrays, monkeypatch):
    files = gz_files(arrays)
    monkeypatch.setattr(data, "IDX_FILES", {n: hashlib.md5(b).hexdigest() for n, b in files.items()})
    server = _Server(files)
    try:
        found = data.find_mnist(mirrors=("http://127.0.0.1:9/", server.url))  # the first mirror is down
    finally:
        server.close()
    assert found == no_local_mnist / "cache" / "fnn" / "idx"
    x_train, y_train, _, _ = read_mnist_file(found)
    assert as_sorted_set(x_train, y_train) == as_sorted_set(arrays[0], arrays[1])
    assert not list(found.glob("*.part"))


def test_truncated_download_is_refused_and_leaves_nothing(tmp_path, arrays):
    files = gz_files(arrays)
    name = "train-labels-idx1-ubyte.gz"
    server = _Server(files, truncate=True)
    try:
        with pytest.raises(DataError, match="truncated"):
            data.download(server.url + name, tmp_path / name, hashlib.md5(files[name]).hexdigest())
    finally:
        server.close()
    assert list(tmp_path.iterdir()) == []


def test_corrupted_download_is_refused_and_leaves_nothing(tmp_path, arrays):
    files = gz_files(arrays)
    name = "train-labels-idx1-ubyte.gz"
    server = _Server(files)
    try:
        with pytest.raises(DataError, match="corrupted"):
            data.download(server.url + name, tmp_path / name, "0" * 32)
    finally:
        server.close()
    assert list(tmp_path.iterdir()) == []


def test_damaged_repository_copy_is_detected(no_local_mnist, monkeypatch):
    data.REPO_MAT.parent.mkdir()
    data.REPO_MAT.write_bytes(Path(data.__file__).read_bytes())
    with pytest.raises(DataError, match="sha256"):
        load_mnist()
