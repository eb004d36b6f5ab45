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
    digest = hashlib.sha256(data.PACKAGED_MAT.read_bytes()).hexdigest()
    assert digest == data.MAT_SHA256
    mnist = load_mnist(data.PACKAGED_MAT)
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
    """Hide every local source: no FNN_MNIST, no packaged copy, an empty cache."""
    monkeypatch.delenv("FNN_MNIST", raising=False)
    monkeypatch.setattr(data, "PACKAGED_MAT", tmp_path / "package" / "mnist_all.mat")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def test_search_order_env_then_package_then_cache(no_local_mnist, arrays, monkeypatch):
    tmp = no_local_mnist
    cached = tmp / "cache" / "fnn" / "mnist_all.mat"
    cached.parent.mkdir(parents=True)
    write_mat(cached, arrays)
    assert data.find_mnist(allow_download=False) == cached
    data.PACKAGED_MAT.parent.mkdir()
    write_mat(data.PACKAGED_MAT, arrays)
    assert data.find_mnist(allow_download=False) == data.PACKAGED_MAT
    env = tmp / "env.npz"
    np.savez(env, x_train=arrays[0], y_train=arrays[1], x_test=arrays[2], y_test=arrays[3])
    monkeypatch.setenv("FNN_MNIST", str(env))
    assert data.find_mnist(allow_download=False) == env
    assert data.find_mnist(tmp / "package" / "mnist_all.mat") == data.PACKAGED_MAT  # explicit path first


def test_nothing_found_says_what_was_tried(no_local_mnist):
    with pytest.raises(DataError) as info:
        data.find_mnist(mirrors=("http://127.0.0.1:9/",))
    message = str(info.value)
    assert f"package: {data.PACKAGED_MAT} (missing)" in message
    assert "cache" in message and "download" in message and "FNN_MNIST" in message
    assert "reinstall fnn" in message and "into data/" not in message


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


def test_damaged_packaged_copy_is_detected(no_local_mnist, monkeypatch):
    data.PACKAGED_MAT.parent.mkdir()
    data.PACKAGED_MAT.write_bytes(Path(data.__file__).read_bytes())
    with pytest.raises(DataError, match="sha256"):
        load_mnist()


def _floats(x):
    return x.astype(np.float64) / 255.0


def _with_nan(x):
    x = _floats(x)
    x[3, 100] = np.nan
    return x


def _one_hot(y):
    return np.eye(10, dtype=np.int64)[y]


# Each row: which array to change, how, and a fragment the DataError message must hold.
BAD_NPZ = [
    (
        "float above 1",
        "x_train",
        lambda x: x.astype(np.float32),
        r"train images must lie in \[0, 1\] \(float32\), got \d+\.0 at \[",
    ),
    ("int16 negative", "x_train", lambda x: x.astype(np.int16) - 1, r"train images must lie in \[0, 255\]"),
    ("uint16 above 255", "x_test", lambda x: x.astype(np.uint16) * 2, r"test images .* \(uint16\), got 400"),
    ("inf", "x_test", lambda x: np.where(x == 200, np.inf, _floats(x)), r"test images .*, got inf at"),
    ("bool images", "x_train", lambda x: x > 100, "dtype bool"),
    ("NaN in train", "x_train", _with_nan, r"train images .*nan at \[3, 100\]"),
    ("NaN in test", "x_test", _with_nan, r"test images .*nan at \[3, 100\]"),
    ("float labels 3.7", "y_train", lambda y: np.where(np.arange(len(y)) == 5, 3.7, y), r"3\.7 at \[5\]"),
    ("one-hot labels", "y_train", _one_hot, r"look one-hot .*y\.argmax\(1\)"),
    ("string labels", "y_test", lambda y: y.astype(str), "test labels have dtype <U"),
    ("labels out of range", "y_test", lambda y: y + 1, r"must lie in \[0, 10\), got 10 at"),
    ("empty test", ("x_test", "y_test"), lambda a: a[:0], "the test split is empty"),
    ("empty train", ("x_train", "y_train"), lambda a: a[:0], "the train split is empty"),
    ("count mismatch", "y_train", lambda y: y[:-1], "300 images but 299 labels"),
]


def write_npz(path, arrays, **changes):
    keys = ("x_train", "y_train", "x_test", "y_test")
    np.savez(path, **{**dict(zip(keys, arrays)), **changes})
    return path


@pytest.mark.parametrize(
    "key, change, message", [row[1:] for row in BAD_NPZ], ids=[row[0] for row in BAD_NPZ]
)
def test_bad_npz_contents_are_a_data_error_naming_file_and_array(tmp_path, arrays, key, change, message):
    by_key = dict(zip(("x_train", "y_train", "x_test", "y_test"), arrays))
    keys = key if isinstance(key, tuple) else (key,)
    path = write_npz(tmp_path / "bad.npz", arrays, **{k: change(by_key[k]) for k in keys})
    with pytest.raises(DataError, match=message) as info:
        load_mnist(path, validation=0)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "x_train, y_train",
    [
        (_floats, lambda y: y),  # floats in [0, 1] are used as they are, not divided by 255 again
        (lambda x: x.reshape(-1, 28, 28, 1).astype(np.int64), lambda y: y.reshape(-1, 1)),  # (N, 1) labels
        (lambda x: x, lambda y: y.astype(np.float32)),  # whole-number float labels
    ],
    ids=["float images", "int64 images and column labels", "whole float labels"],
)
def test_accepted_npz_variants_load_like_uint8(tmp_path, arrays, x_train, y_train):
    reference = load_mnist(write_npz(tmp_path / "ref.npz", arrays), validation=10)
    path = write_npz(tmp_path / "v.npz", arrays, x_train=x_train(arrays[0]), y_train=y_train(arrays[1]))
    mnist = load_mnist(path, validation=10)
    np.testing.assert_allclose(mnist.train.x, reference.train.x, atol=1e-6)
    np.testing.assert_array_equal(mnist.train.labels, reference.train.labels)
    assert mnist.train.labels.dtype == np.int32 and mnist.train.labels.shape == (290,)


def test_validation_zero_gives_an_empty_validation_split(tmp_path, arrays):
    mnist = load_mnist(write_npz(tmp_path / "m.npz", arrays), validation=0, subtract_mean=True)
    assert mnist.validation.x.shape == (0, 28, 28, 1) and mnist.validation.x.dtype == np.float32
    assert mnist.validation.labels.shape == (0,) and mnist.validation.labels.dtype == np.int32
    assert len(mnist.train.x) == 300


@pytest.mark.parametrize("validation", [-1, 300, 2.5, True])
def test_validation_outside_its_range_is_refused(tmp_path, arrays, validation):
    with pytest.raises(DataError, match="validation must be"):
        load_mnist(write_npz(tmp_path / "m.npz", arrays), validation=validation)


def test_a_missing_fnn_mnist_is_an_error_not_a_fallback(no_local_mnist, arrays, monkeypatch):
    data.PACKAGED_MAT.parent.mkdir()
    write_mat(data.PACKAGED_MAT, arrays)  # a fallback exists, and must not be used
    monkeypatch.setenv("FNN_MNIST", str(no_local_mnist / "nonexistent" / "x.mat"))
    with pytest.raises(DataError, match=r"FNN_MNIST=.*nonexistent/x\.mat does not exist"):
        data.find_mnist(allow_download=False)


def test_fingerprint_and_provenance(tmp_path, arrays):
    path = write_npz(tmp_path / "m.npz", arrays)
    assert data.fingerprint(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    mnist = load_mnist(path, validation=20)
    assert data.provenance(mnist) == {
        "path": str(path),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "train": 280,
        "validation": 20,
        "test": 100,
    }
    folder = write_idx(tmp_path / "idx", arrays, compress=True)
    names = [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ]
    digests = "".join(hashlib.sha256((folder / f"{n}.gz").read_bytes()).hexdigest() for n in names)
    assert data.fingerprint(folder) == hashlib.sha256(digests.encode()).hexdigest()
    assert load_mnist(folder, validation=20).sha256 == data.fingerprint(folder)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda raw: raw[:2], "IDX header truncated: 2 bytes"),
        (lambda raw: raw[:10], "IDX header truncated: 10 bytes for 3 dimensions"),
        (
            lambda raw: raw + b"\0" * 7,
            r"7 extra bytes after the data its header declares \(shape \(300, 28, 28\)\)",
        ),
        (lambda raw: raw[:-7], "truncated IDX file"),
    ],
    ids=["no header", "short header", "extra bytes", "short data"],
)
def test_idx_errors_name_the_file_and_the_problem(tmp_path, arrays, damage, message):
    folder = write_idx(tmp_path / "idx", arrays, compress=False)
    path = folder / "train-images-idx3-ubyte"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(DataError, match=message) as info:
        read_mnist_file(folder)
    assert str(path) in str(info.value)
