#!/usr/bin/env bash
# Runs every bench program (bin/bench_*) and the same rows in PyTorch (2 threads) and prints the ratio
# table. Usage: bench/run_cpu.sh [build-dir] [extra Google Benchmark flags, e.g. --benchmark_filter=linear]
# The whole-model benches (predictor training step, DINOv2 forward) have their own: bench/run_models.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/../build}"
shift || true
bins=("$build"/bin/bench_*)
[[ -x "${bins[0]}" ]] || { echo "run_cpu.sh: no $build/bin/bench_* found; build with -DCJ_BUILD_BENCH=ON first" >&2; exit 1; }
tmp="$(mktemp -d /tmp/cj_bench_XXXX)"
trap 'rm -rf "$tmp"' EXIT
jsons=()
for bin in "${bins[@]}"; do
  case "$(basename "$bin")" in
    bench_predictor | bench_dinov2) continue ;;  # whole models: run_models.sh
    bench_cuda_ops) continue ;;                  # GPU only: tools/gpu-check.sh
  esac
  json="$tmp/$(basename "$bin").json"
  OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" "$bin" --benchmark_format=json --benchmark_out="$json" --benchmark_out_format=json "$@" > /dev/null
  [[ -s "$json" ]] && jsons+=("$json")  # a --benchmark_filter that matches nothing here writes nothing
done
[[ ${#jsons[@]} -gt 0 ]] || { echo "run_cpu.sh: no benchmark matched" >&2; exit 1; }
filter=""
for arg in "$@"; do
  case "$arg" in --benchmark_filter=*) filter="${arg#--benchmark_filter=}" ;; esac
done
python3 "$here/torch_reference.py" --ours "${jsons[@]}" --threads "${OMP_NUM_THREADS:-2}" --filter "$filter"
