#!/usr/bin/env bash
# The whole-model benches next to PyTorch in the same run: the C-JEPA predictor training step
# (bench_predictor vs predictor_reference.py) and the DINOv2 ViT-S/14 forward (bench_dinov2 vs
# dinov2_reference.py), alternating ours and PyTorch for `rounds` rounds (each side's best round
# counts, so a burst of load on a shared machine hurts neither side alone), then one ratio table.
#
#   bench/run_models.sh [build-dir] [rounds] [extra flags for both sides, e.g. --batch=256 --device=cuda]
#   MODELS=bench_dinov2 bench/run_models.sh ...   # only these of bench_predictor, bench_dinov2
#
# CPU: 2 threads each (OMP_NUM_THREADS / torch.set_num_threads). GPU session: pass --device=cuda and
# --compile goes to the PyTorch side only (set TORCH_EXTRA=--compile).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/../build}"
rounds="${2:-2}"
shift 2 || shift $# || true
threads="${OMP_NUM_THREADS:-2}"
out="$(mktemp /tmp/cj_models_XXXX.jsonl)"
trap 'rm -f "$out"' EXIT
# shellcheck disable=SC2206
torch_flags=("$@" ${TORCH_EXTRA:-})  # both sides take --key=value
table() {
  echo "$(lscpu | sed -n 's/^Model name: *//p'), $threads threads each; load: $(cut -d' ' -f1-3 /proc/loadavg)"
  python3 "$here/model_bench.py" table "$out"
}
# Stopped by a time limit (gpu-check.sh's timeout sends TERM): what was measured still makes the table.
trap 'echo "run_models.sh: stopped; the table has the rows measured before" >&2; table; exit 124' TERM
# A side that fails is reported and the other side's rows still make the table; exit status 1 then.
status=0
for ((r = 0; r < rounds; ++r)); do
  for pair in "bench_predictor predictor_reference.py" "bench_dinov2 dinov2_reference.py"; do
    read -r bin ref <<< "$pair"
    [[ " ${MODELS:-bench_predictor bench_dinov2} " == *" $bin "* ]] || continue
    if [[ -x "$build/bin/$bin" ]]; then
      OMP_NUM_THREADS="$threads" "$build/bin/$bin" --json="$out" "$@" > /dev/null ||
        { echo "run_models.sh: $bin failed (exit $?)" >&2; status=1; }
    else
      echo "run_models.sh: $build/bin/$bin not built (configure with -DCJ_BUILD_BENCH=ON)" >&2
      status=1
    fi
    python3 "$here/$ref" --threads "$threads" --json "$out" ${torch_flags[@]+"${torch_flags[@]}"} > /dev/null ||
      { echo "run_models.sh: $ref failed (exit $?)" >&2; status=1; }
  done
done
table
exit $status
