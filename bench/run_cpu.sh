#!/usr/bin/env bash
# Runs bench_tensor_ops and the same rows in PyTorch (2 threads) and prints the ratio table.
# Usage: bench/run_cpu.sh [build-dir] [extra Google Benchmark flags, e.g. --benchmark_filter=linear]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/../build}"
shift || true
bin="$build/bin/bench_tensor_ops"
[[ -x "$bin" ]] || { echo "run_cpu.sh: $bin not found; build with -DCJ_BUILD_BENCH=ON first" >&2; exit 1; }
json="$(mktemp /tmp/cj_bench_XXXX.json)"
trap 'rm -f "$json"' EXIT
OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" "$bin" --benchmark_format=json --benchmark_out="$json" --benchmark_out_format=json "$@" > /dev/null
filter=""
for arg in "$@"; do
  case "$arg" in --benchmark_filter=*) filter="${arg#--benchmark_filter=}" ;; esac
done
python3 "$here/torch_reference.py" --ours "$json" --threads "${OMP_NUM_THREADS:-2}" --filter "$filter"
