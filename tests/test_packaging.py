"""What `pip install .` ships: a wheel that holds every module, the MNIST file and the license,
whose fnn finds that MNIST from any directory without a download; metadata that states what
was tested. `.ci/run` installs the wheel into a fresh venv and trains with it."""

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import jax
import pytest

import fnn
from fnn import data

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# The oldest jax/jaxlib on which the default suite passed (0.8.0: 394 passed; 0.7.2 has no
# top-level jax.enable_x64, which gradcheck and the tests' x64 fixture use).
JAX_MINIMUM = "0.8.0"
MNIST_IN_WHEEL = "fnn/mnist/mnist_all.mat"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the checkout (pip builds in the source folder), ~3 s."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "fnn", src / "fnn", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
    done = subprocess.run([*command, "-q", "-w", str(tmp / "dist"), str(src)], capture_output=True, text=True)
    assert done.returncode == 0, (
        f"{done.stderr}\n(the dev extras bring setuptools>=77: pip install -e '.[dev]')"
    )
    (path,) = (tmp / "dist").glob("fnn-*.whl")
    return path


def test_the_wheel_holds_every_module_the_mnist_file_and_the_license(wheel):
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        assert hashlib.sha256(whl.read(MNIST_IN_WHEEL)).hexdigest() == data.MAT_SHA256
        metadata = whl.read(f"fnn-{fnn.__version__}.dist-info/METADATA").decode()
        license_text = whl.read(f"fnn-{fnn.__version__}.dist-info/licenses/LICENSE").decode()
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "fnn").rglob("*.py")}
    assert modules <= names, sorted(modules - names)
    assert license_text == (ROOT / "LICENSE").read_text()
    for line in ("License-Expression: MIT", f"Requires-Dist: jax>={JAX_MINIMUM}", "Requires-Python: >=3.11"):
        assert line in metadata.splitlines(), line


def test_the_unpacked_wheel_finds_its_mnist_from_another_directory_without_a_download(wheel, tmp_path):
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as whl:
        whl.extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("FNN_MNIST", "PYTHONPATH")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "empty-cache")
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import fnn, fnn.data as d; "
        "print(fnn.__file__); print(d.find_mnist(mirrors=('http://127.0.0.1:9/',)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(site)], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    module, found = done.stdout.splitlines()
    assert Path(module) == site / "fnn" / "__init__.py"  # the wheel's fnn, not the checkout's
    assert Path(found) == site / MNIST_IN_WHEEL
    assert "download" not in done.stderr and not (tmp_path / "empty-cache").exists()


def test_find_mnist_without_fnn_mnist_or_a_cache_returns_the_packaged_file(tmp_path, monkeypatch):
    monkeypatch.delenv("FNN_MNIST", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty"))
    found = data.find_mnist(mirrors=("http://127.0.0.1:9/",))  # a download would fail: none is tried
    assert found == data.PACKAGED_MAT == Path(fnn.__file__).resolve().parent / "mnist" / "mnist_all.mat"


def test_the_declared_jax_bound_is_the_tested_one():
    dependencies = PYPROJECT["project"]["dependencies"]
    assert f"jax>={JAX_MINIMUM}" in dependencies and f"jaxlib>={JAX_MINIMUM}" in dependencies
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"  # what jax 0.8.0 requires
    installed = tuple(int(part) for part in jax.__version__.split(".")[:3])
    assert installed >= tuple(int(part) for part in JAX_MINIMUM.split("."))
    assert hasattr(jax, "enable_x64")  # the newest API the bound is set by


def test_license_and_metadata_are_complete():
    project = PYPROJECT["project"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 the fnn authors" in text
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert project["version"] == fnn.__version__
    assert project["authors"] and project["keywords"] and project["classifiers"]
    assert PYPROJECT["tool"]["setuptools"]["package-data"]["fnn"] == ["mnist/mnist_all.mat"]
