#!/usr/bin/env bash
# The prepared GPU check: run on an accelerator machine from the repository root with
# $OUT set to a folder for the JSON results. Uses that machine's own jax (no install).
set -u
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
OUT=${OUT:-gpu_results}
mkdir -p "$OUT"
python3 -c "import jax; print('jax', jax.__version__, jax.devices())" | tee "$OUT/devices.txt"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee -a "$OUT/devices.txt"
run() {  # name, seconds allowed, command...
  local name=$1 limit=$2; shift 2
  local start=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name.json" 2> "$OUT/$name.err"
  echo "$name: rc=$? $((SECONDS - start))s"
}
# Sized for a 15-minute device lease that includes the machine's start (about 5 minutes here).
run optax_interop 90 python3 -m pytest -q -p no:cacheprovider -o addopts= tests/test_optim_optax.py
run epoch_b128 100 python3 -m benchmarks.epoch --batch-size 128 --repeats 3 --models cnn
run accuracy_cnn 80 python3 -m benchmarks.accuracy --model cnn --driver scan
run train_step 60 python3 -m benchmarks.train_step --repeats 20 --models cnn,cnn-bn
run time_to_accuracy_fast 90 python3 -m benchmarks.time_to_accuracy --recipes fast --seeds 0,1,2 --no-torch
run train_command_fast 90 python3 -m benchmarks.train_command --model fast --seeds 2
if [ "${FULL:-}" = 1 ]; then  # the rest, for a longer lease
  run epoch_b512 80 python3 -m benchmarks.epoch --batch-size 512 --repeats 5
  run accuracy_cnn_bn 80 python3 -m benchmarks.accuracy --model cnn-bn --driver scan
  run conv 120 python3 -m benchmarks.conv --repeats 10 --mnist-only
  run gradcheck 70 python3 -m fnn gradcheck --no-fd --json "$OUT/gradcheck_table.json"
fi
# Few files come back from the device machine: merge everything into one JSON and one log.
python3 - "$OUT" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
merged = {}
for f in sorted(out.glob("*.json")):
    try:
        merged[f.stem] = json.loads(f.read_text())
    except ValueError:  # not JSON (the pytest run): keep its text
        merged[f.stem] = {"text": f.read_text()[-3000:]}
(out / "all.json").write_text(json.dumps(merged, indent=1))
logs = "".join(f"==> {f.name}\n{f.read_text()[-2000:]}\n" for f in sorted(out.glob("*.err")))
(out / "all.log").write_text(logs)
for f in list(out.glob("*.json")) + list(out.glob("*.err")):
    if f.name != "all.json":
        f.unlink()
PY
tail -c 1500 "$OUT/all.log"
