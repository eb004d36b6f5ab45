"""What the report says about im2col and col2im: the example's shapes and the two identities."""

from __future__ import annotations

import numpy as np

from experiments import fmt


def key(example: dict) -> str:
    """'k2s1p0': the facts key of one (kernel, stride, padding) example."""
    return f"k{example['kernel']}s{example['stride']}p{example['padding']}"


def facts(results: dict) -> dict:
    out = {"size": results["size"], "channels": results["channels"], "examples": len(results["examples"])}
    for e in results["examples"]:
        matrix, counts = np.asarray(e["assignment_matrix"]), np.asarray(e["counts"])
        out[key(e)] = {
            "kernel": e["kernel"],
            "stride": e["stride"],
            "padding": e["padding"],
            "H_out": e["H_out"],
            "W_out": e["W_out"],
            "rows": matrix.shape[0],
            "columns": matrix.shape[1],
            "padding_entries": int(np.sum(matrix == 0)),  # pixels are numbered from 1: 0 is padding
            "copies": int(np.sum(matrix != 0)),  # entries of M copied from the image
            "covered": int(counts.sum()),  # col2im of all-ones columns, summed over the image
            "max_count": int(counts.max()),
        }
    out["roundtrip_error"] = fmt.sci(max(e["roundtrip_minus_counts_times_x"] for e in results["examples"]))
    out["adjoint_difference"] = fmt.sci(max(e["adjoint_relative_difference"] for e in results["examples"]))
    return out


def _examples(f: dict) -> list[dict]:
    return [v for v in f.values() if isinstance(v, dict) and "copies" in v]


CLAIMS = {
    # col2im(im2col(x)) equals counts * x exactly, for every example
    "roundtrip_is_counts_times_x": lambda f: f["roundtrip_error"] == 0,
    # <im2col(x), c> = <x, col2im(c)> to float32 rounding (relative difference below 1e-5)
    "adjoint_identity_holds": lambda f: f["adjoint_difference"] < 1e-5,
    # col2im of ones counts exactly the copies im2col made of each pixel (summed over the image)
    "counts_are_copies": lambda f: all(e["covered"] == e["copies"] for e in _examples(f)),
}
