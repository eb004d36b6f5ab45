"""What the report says about the convolution timings: ratios of medians, and claims that hold
only with a margin (timings on a shared machine are noisy; no claim rests on a small gap)."""

from __future__ import annotations

from experiments import fmt

KINDS = ("forward", "forward_backward")
MIB = 2.0**20


def _ms(value: float) -> str:
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def _cell(row: dict, impl: str, kind: str) -> str:
    low, high = row[f"{impl}_{kind}_iqr_ms"]
    return f"{_ms(row[f'{impl}_{kind}_ms'])} [{_ms(low)}, {_ms(high)}]"


def _ratios(rows: list, a: str, b: str, kinds=KINDS) -> list[float]:
    """a's median over b's, per configuration and kind."""
    return [row[f"{a}_{kind}_ms"] / row[f"{b}_{kind}_ms"] for row in rows for kind in kinds]


def _range(values: list[float], spec: str = ".1f") -> dict:
    return {"min": fmt.Num(min(values), spec), "max": fmt.Num(max(values), spec)}


def _lead(row: dict, impls: list, winner: str, kind: str) -> float:
    """The next-fastest impl's median over `winner`'s (below 1: winner is not the fastest)."""
    return min(row[f"{i}_{kind}_ms"] for i in impls if i != winner) / row[f"{winner}_{kind}_ms"]


def facts(results: dict) -> dict:
    rows, impls = results["rows"], results["impls"]
    others = [i for i in impls if i != "naive"]
    largest = max(rows, key=lambda row: row["batch"] * row["size"] ** 2)
    device = results["device"]
    header = ("size", "batch", *impls)
    out = {
        "backend": results["backend"],
        "cpu": device.get("cpu", ""),
        "cores": device.get("cores", 0),
        "repeats": results["repeats"],
        "warmup": results["warmup"],
        "c_in": results["c_in"],
        "c_out": results["c_out"],
        "kernel": results["kernel"],
        "configs": len(rows),
        "sizes": ", ".join(str(s) for s in sorted({row["size"] for row in rows})),
        "batches": ", ".join(str(b) for b in sorted({row["batch"] for row in rows})),
        "naive_difference": fmt.sci(max(row["naive_vs_xla_difference"] for row in rows)),
        "naive_over_im2col": {kind: _range(_ratios(rows, "naive", "im2col", (kind,))) for kind in KINDS},
        "naive_over_others_min": fmt.num(min(r for o in others for r in _ratios(rows, "naive", o)), 1),
        "im2col_over_xla": {kind: _range(_ratios(rows, "im2col", "xla", (kind,))) for kind in KINDS},
        "im2col_over_direct": {
            kind: _range(_ratios(rows, "im2col", "direct", (kind,)), ".2f") for kind in KINDS
        },
        "winograd_over_im2col": _range(_ratios(rows, "winograd", "im2col"), ".2f"),
        "largest": {
            "size": largest["size"],
            "batch": largest["batch"],
            "xla_lead": {kind: fmt.num(_lead(largest, impls, "xla", kind), 2) for kind in KINDS},
            "input_mib": fmt.num(largest["input_bytes"] / MIB, 1),
            "columns_mib": fmt.num(largest["im2col_bytes"] / MIB, 1),
            "im2col_temp_mib": fmt.num((largest["im2col_forward_backward_temp_bytes"] or 0) / MIB, 0),
            "xla_temp_mib": fmt.num((largest["xla_forward_backward_temp_bytes"] or 0) / MIB, 0),
        },
        "column_ratio": {
            "min": fmt.num(min(row["im2col_ratio"] for row in rows), 0),
            "max": fmt.num(max(row["im2col_ratio"] for row in rows), 0),
        },
        "im2col_over_xla_temp_min": fmt.num(
            min(
                (row["im2col_forward_backward_temp_bytes"] or 0)
                / max(row["xla_forward_backward_temp_bytes"] or 0, 1)
                for row in rows
            ),
            1,
        ),
        "table_forward": fmt.Table(
            header,
            tuple((str(r["size"]), str(r["batch"]), *(_cell(r, i, "forward") for i in impls)) for r in rows),
        ),
        "table_forward_backward": fmt.Table(
            header,
            tuple(
                (str(r["size"]), str(r["batch"]), *(_cell(r, i, "forward_backward") for i in impls))
                for r in rows
            ),
        ),
        "table_memory": fmt.Table(
            ("size", "batch", "x", "columns", "ratio", *impls),
            tuple(
                (
                    str(r["size"]),
                    str(r["batch"]),
                    f"{r['input_bytes'] / MIB:.2f}",
                    f"{r['im2col_bytes'] / MIB:.2f}",
                    f"{r['im2col_ratio']:.0f}",
                    *(
                        "-"
                        if r[f"{i}_forward_backward_temp_bytes"] is None
                        else f"{r[f'{i}_forward_backward_temp_bytes'] / MIB:.1f}"
                        for i in impls
                    ),
                )
                for r in rows
            ),
        ),
    }
    loop = results.get("python_loop")
    if loop:
        median = {name: entry["median_ms"] for name, entry in loop["forward"].items()}
        compiled = [n for n in median if n != "python_loop"]
        out["python_loop"] = {
            "size": loop["size"],
            "batch": loop["batch"],
            "c_in": loop["c_in"],
            "c_out": loop["c_out"],
            "repeats": loop["repeats"],
            "difference": fmt.sci(loop["python_vs_xla_difference"]),
            "ms": {name: fmt.Num(value, ".3g") for name, value in median.items()},
            "over": {n: fmt.Num(median["python_loop"] / median[n], ".1f") for n in compiled},
            "over_min": fmt.Num(min(median["python_loop"] / median[n] for n in compiled), ".1f"),
        }
    return out


CLAIMS = {
    # the compiled naive loop is at least 2 times slower than every other impl, everywhere
    "naive_slowest_by_far": lambda f: f["naive_over_others_min"] >= 2,
    # the naive loop agrees with xla (y, dx, dW) to a relative 1e-4
    "naive_agrees_with_xla": lambda f: f["naive_difference"] < 1e-4,
    # at the largest configuration xla is fastest, at least 1.25 times ahead of the next, both kinds
    "xla_fastest_at_largest": lambda f: all(f["largest"]["xla_lead"][k] >= 1.25 for k in KINDS),
    # im2col's forward + backward stays within a factor 3 of xla's everywhere
    "im2col_within_3x_of_xla": lambda f: f["im2col_over_xla"]["forward_backward"]["max"] <= 3,
    # winograd is within a factor 2.5 of im2col everywhere, either way: no consistent winner
    "winograd_within_2_5x_of_im2col": lambda f: (
        1 / 2.5 <= f["winograd_over_im2col"]["min"] < 1 < f["winograd_over_im2col"]["max"] <= 2.5
    ),
    # the column matrix is k^2 = 9 times the input in every configuration
    "columns_nine_times_input": lambda f: f["column_ratio"]["min"] == f["column_ratio"]["max"] == 9,
    # XLA allocates more temporaries for im2col's forward + backward than for its own, everywhere
    "im2col_needs_more_temporaries": lambda f: f["im2col_over_xla_temp_min"] > 1,
    # the pure-Python loop is at least 1.5 times slower than every compiled impl at its (small) size
    "python_loop_slowest": lambda f: f["python_loop"]["over_min"] >= 1.5,
    # ... and computes the same convolution (relative 1e-5 of xla)
    "python_loop_agrees": lambda f: f["python_loop"]["difference"] < 1e-5,
}
