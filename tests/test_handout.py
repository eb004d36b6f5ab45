"""The handout (`fnn handout OUT`, `make handout`): the student files hold no
solution; every check its README lists fails until its stub is written, and passes once the
stubs are filled from fnn's own code; its sections and labels are the derivations'."""

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fnn.cli import main
from fnn.cli.handout import CHECKS, MARKER, checks, write_handout
from fnn.cli.usage import UsageError

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = {"affine.py", "relu.py", "conv.py", "pool.py", "batch_norm.py", "optim.py", "losses.py"}

# Each stub's body, filled from fnn's own implementation (a call into it, never its formula).
FILL = {
    "affine_backward": """
from fnn.layers.affine import AffineCache, affine
return affine(params["W"].shape[1]).backward(params, AffineCache(cache.x), dy)""",
    "relu_backward": """
import jax
from fnn.layers import relu
from fnn.layers.activations import ActivationCache
return relu().backward({}, ActivationCache(cache.x, jax.nn.relu(cache.x)), dy)[0]""",
    "conv_backward": """
from fnn.layers.conv import Im2colConvCache, im2col_backward
return im2col_backward(params, Im2colConvCache(cache.x, cache.cols), dy, s=stride, p=padding)""",
    "max_pool_backward": """
from fnn.layers import max_pool2d
from fnn.layers.pool import MaxPoolCache
pool = max_pool2d(kernel_size, stride, padding)
return pool.backward({}, MaxPoolCache(cache.x, cache.argmax), dy)[0]""",
    "batch_norm_train_backward": """
from fnn.layers.norm import BatchNormTrainCache, train_backward
return train_backward(params, BatchNormTrainCache(cache.x_hat, cache.inv_std), dy)""",
    "batch_norm_eval_backward": """
from fnn.layers.norm import BatchNormEvalCache, eval_backward
return eval_backward(params, BatchNormEvalCache(cache.x_hat, cache.inv_std), dy)""",
    "sgd_update": """
from fnn.optim import sgd
rule = sgd(lr)
return rule.update(dx, rule.init(dx))[0]""",
    "momentum_update": """
from fnn.optim import momentum
rule = momentum(lr, mu)
return rule.update(dx, rule.init(dx)._replace(velocity=v))[0]""",
    "dropout_backward": """
from fnn.layers import dropout
from fnn.layers.dropout import DropoutCache
return dropout(0.5).backward({}, DropoutCache(cache.mask), dy)[0]""",
    "softmax_dscores": """
from fnn.losses import softmax_cross_entropy
return softmax_cross_entropy(scores, labels)[1]""",
    "svm_dscores": """
from fnn.losses import multiclass_svm
return multiclass_svm(scores, labels, margin)[1]""",
}


def stubs(path: Path) -> dict[str, ast.Raise]:
    """{function name: its `raise NotImplementedError(...)`} of a student file."""
    found = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef) and isinstance(node.body[-1], ast.Raise):
            call = node.body[-1].exc
            if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "NotImplementedError":
                found[node.name] = node.body[-1]
    return found


def fill(out: Path) -> None:
    """Replace every stub's raise with FILL's call into fnn."""
    for path in out.glob("*.py"):
        lines = path.read_text().splitlines()
        for name, raised in sorted(stubs(path).items(), key=lambda item: -item[1].lineno):
            body = [" " * raised.col_offset + line for line in FILL[name].strip().splitlines()]
            lines[raised.lineno - 1 : raised.end_lineno] = body
        path.write_text("\n".join(lines) + "\n")


def readme_commands(out: Path) -> list[list[str]]:
    """The `fnn gradcheck` commands README.md lists, as argv for fnn.cli.main."""
    commands = re.findall(r"`fnn (gradcheck --layer \S+ --like \S+)`", (out / "README.md").read_text())
    return [command.split() for command in commands]


@pytest.fixture(scope="module")
def handouts(tmp_path_factory):
    """{extras: OUT}: the handout as the assignment asks for it, and with the extras."""
    return {extras: tmp_path_factory.mktemp(f"handout-{extras}") / "out" for extras in (False, True)}


@pytest.fixture(scope="module")
def written(handouts):
    for extras, out in handouts.items():
        write_handout(out, extras=extras)
    return handouts


def test_the_handout_holds_the_assignments_files_and_the_extras_on_request(written):
    default, extras = written[False], written[True]
    names = {p.name for p in default.iterdir()}
    assert names == ASSIGNMENT | {"README.md", "DERIVE.md", MARKER}
    assert {p.name for p in extras.iterdir()} == names | {"dropout.py"}
    assert not stubs(default / "losses.py")  # provided, as in the assignment
    assert set(stubs(extras / "losses.py")) == {"softmax_dscores", "svm_dscores"}
    every_stub = {name for out in written.values() for p in out.glob("*.py") for name in stubs(p)}
    assert every_stub == set(FILL) == {s for c in CHECKS for s in c.stubs}
    sections = re.findall(r"^## (.+)$", (default / "DERIVE.md").read_text(), re.M)
    assert sections == [
        "Affine layer",
        "Activations",
        "Convolution",
        "Pooling",
        "Batch normalisation",
        "Losses",
        "Optimizers",
    ]
    assert "## Dropout" in (extras / "DERIVE.md").read_text()
    for out in written.values():  # README names the choices about the derivations and the notebook
        readme = (out / "README.md").read_text()
        assert "**The derivations.**" in readme and "**The walkthrough notebook**" in readme
        assert readme_commands(out) == [c.command().split()[1:] for c in checks(out == extras)]


def fnn_backward_lines() -> set[str]:
    """The code lines of fnn's hand-written backward passes, loss gradients and update rules that
    its forward passes do not share, stripped, docstrings and trivial lines left out."""
    sources = [*(ROOT / "fnn" / "layers").glob("*.py"), ROOT / "fnn" / "losses.py", ROOT / "fnn" / "optim.py"]
    backward, forward = set(), set()
    for path in sources:
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            code = node.body[1:] if ast.get_docstring(node) else node.body
            body = {line.strip() for line in lines[code[0].lineno - 1 : node.end_lineno]} if code else set()
            if re.search(r"backward|route|^step$", node.name):
                backward |= body
            elif node.name in ("softmax_cross_entropy", "multiclass_svm"):  # their value's lines are forward
                backward |= {line for line in body if re.search(r"dscores|active|return", line)}
            elif re.search(r"apply|forward", node.name):
                forward |= body
        backward |= {line.split("lambda x, y:")[1].strip() for line in lines if "lambda x, y:" in line}
    trivial = re.compile(r"^(#|return dx, \{\}|\)|\]|\}|[\w, ]+\)?:?$)")
    return {line for line in backward - forward if len(line) >= 16 and not trivial.match(line)}


SOLUTION_FRAGMENTS = (  # the formulas themselves, however the code around them reads
    "x2.T @ dy",
    ".T @ dy",
    '@ params["W"].T',
    "(x > 0)",
    "y * (1 - y)",
    "1 - y * y",
    "m * dy - dbeta",
    "gamma * cache.inv_std",
    "jnp.exp(log_p) - onehot",
    "active.sum(axis=1",
    "dy * cache.mask",
    "col2im(dcols",
    "-lr_t * g",
    "mu * v - lr_t",
    "dy * (params",
    "offsets == cache.argmax",
)


def test_no_file_of_the_handout_holds_a_solution(written):
    lines = fnn_backward_lines()
    assert {"dW, db = x2.T @ dy, dy.sum(axis=0)  # (2)", "dgamma = sum_rows(dy * x_hat)"} <= lines  # it reads
    for out in written.values():
        for path in out.iterdir():
            text = path.read_text()
            leaked = {line.strip() for line in text.splitlines()} & lines
            assert not leaked, (path.name, leaked)
            assert not [f for f in SOLUTION_FRAGMENTS if f in text], path.name


def run_checks(out: Path, monkeypatch, capsys, only=None) -> dict[str, tuple[int, str]]:
    """{function: (exit status, output)} of README's commands, run in OUT as a student would."""
    monkeypatch.chdir(out)
    results = {}
    for argv in readme_commands(out):
        function = argv[2].split(":")[1]
        if only is None or function in only:
            status = main(argv)
            captured = capsys.readouterr()
            results[function] = (status, captured.out + captured.err)
    return results


def copy(out: Path, tmp_path: Path) -> Path:
    shutil.copytree(out, tmp_path / "student")
    return tmp_path / "student"


def test_every_check_fails_until_its_stub_is_written(written, monkeypatch, capsys):
    results = run_checks(written[True], monkeypatch, capsys)
    assert len(results) == len(CHECKS)
    for check in CHECKS:
        status, text = results[check.function]
        assert status == 2, (check.function, text)
        pointer = f"NotImplementedError: {'write' if check.section == 'Optimizers' else 'derive'} it: "
        assert f"{pointer}DERIVE.md, section {check.section}, " in text, text
        assert all(label in text for label in check.labels) or check.like == "batch_norm", text


CHEAP = {"affine", "relu", "max_pool2d", "sgd", "momentum", "softmax_cross_entropy", "dropout"}


def test_filled_from_fnns_code_the_cheap_checks_pass(written, tmp_path, monkeypatch, capsys):
    student = copy(written[True], tmp_path)
    fill(student)
    results = run_checks(student, monkeypatch, capsys, only=CHEAP)
    assert set(results) == CHEAP
    assert {f: status for f, (status, _) in results.items()} == dict.fromkeys(CHEAP, 0), results


@pytest.mark.slow
def test_filled_from_fnns_code_every_check_passes(written, tmp_path, monkeypatch, capsys):  # ~40 s
    for extras, out in written.items():
        student = copy(out, tmp_path / str(extras))
        fill(student)
        results = run_checks(student, monkeypatch, capsys)
        assert len(results) == len(checks(extras))
        assert {f: status for f, (status, _) in results.items()} == dict.fromkeys(results, 0), results


def test_the_sections_and_labels_are_the_derivations(written):
    tex = "".join(p.read_text() for p in (ROOT / "derivations").glob("*.tex"))
    labels, sections = (
        set(re.findall(r"\\label\{([^}]+)\}", tex)),
        set(re.findall(r"\\section\{([^}]+)\}", tex)),
    )
    for check in CHECKS:
        assert set(check.labels) <= labels, check
        assert check.section in sections, check
    derive = (written[True] / "DERIVE.md").read_text()
    assert set(re.findall(r"eq:[\w-]+", derive)) <= labels


def test_a_folder_with_other_files_is_refused_and_an_earlier_handout_replaced(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(UsageError, match="holds files and no earlier handout"):
        write_handout(tmp_path)
    out = tmp_path / "handout"
    write_handout(out, extras=True)
    assert (out / "dropout.py").exists()
    write_handout(out)  # without the extras: dropout.py goes
    assert not (out / "dropout.py").exists() and (out / "affine.py").exists()


def test_make_handout_writes_it(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("no make")
    out = tmp_path / "h"
    done = subprocess.run(
        ["make", "-s", "handout", f"OUT={out}", f"PYTHON={sys.executable}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert {
        p.name for p in out.glob("*.py")
    } == ASSIGNMENT and "fnn gradcheck --layer affine.py" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "fnn", "handout", str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 2 and "holds files and no earlier handout" in done.stderr
