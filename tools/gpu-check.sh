#!/usr/bin/env bash
# One command for a GPU machine (H100/H200, CUDA 13): configure with CUDA (Release, sm_90; cuDNN from
# PyTorch's wheel where the toolkit has none), build what the GPU checks need, check with one kernel
# that the GPU is usable, then, in order of value: the CUDA test suite, the CUDA op benchmarks and
# the whole-model benchmarks beside PyTorch on the same card, the kernel sandboxes, compute-sanitizer
# memcheck on the CUDA tests, the models beside torch.compile, and the CPU suites. Each step is
# bounded by what is left of the time budget (GPU_CHECK_BUDGET seconds, default 460, build
# included); a step that no longer fits is skipped and listed as such.
# Everything goes to $OUT/gpu-check.log when $OUT is set, else ./gpu-check.log.
#
#   tools/gpu-check.sh            # build dir: build-gpu/ (BUILD_DIR=... to change)
#
# Exit status: 0 when every step passed, 1 otherwise; the last lines summarise each step.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUTDIR=${OUT:-$PWD}
LOG=$OUTDIR/gpu-check.log
BUILD=${BUILD_DIR:-$ROOT/build-gpu}
mkdir -p "$OUTDIR"
exec > >(tee "$LOG") 2>&1
TEE_PID=$!

export PATH=/usr/local/cuda/bin:$PATH
# Output goes through a pipe (tee): without these, a program killed by its time limit or crashing
# loses every line it printed (Python and C stdio buffer whole blocks for a pipe).
export PYTHONUNBUFFERED=1
LINEBUF=(stdbuf -oL -eL)
command -v stdbuf >/dev/null || LINEBUF=()
START=$(date +%s)
BUDGET=${GPU_CHECK_BUDGET:-460}  # seconds for the whole check, build included (the issue asks < 8 min)
SUMMARY=()
FAILED=0
elapsed() { echo $(($(date +%s) - START)); }
step() { echo; echo "=== $1 (t=$(elapsed)s)"; }
LAST_T=$START
record() {  # record NAME STATUS; each line says how long it took since the previous one (budgets for next time)
  local now t
  now=$(date +%s)
  t="$((now - LAST_T)) s"
  LAST_T=$now
  if [ "$2" -eq 0 ]; then SUMMARY+=("ok    $1 ($t)")
  elif [ "$2" -eq 125 ]; then SUMMARY+=("skip  $1 (out of time budget)")
  elif [ "$2" -eq 124 ]; then SUMMARY+=("FAIL  $1 (stopped by its time limit, $t)"); FAILED=1
  else SUMMARY+=("FAIL  $1 (exit $2, $t)"); FAILED=1; fi
}
skip() { SUMMARY+=("skip  $1"); echo "skipped: $1"; LAST_T=$(date +%s); }
# bounded MIN MAX cmd...: runs cmd under `timeout` of MAX seconds or what is left of BUDGET, whichever
# is less; when less than MIN seconds are left it does not start (LAST_RC=125) and says so.
LAST_RC=0
bounded() {
  local min=$1 max=$2 left
  shift 2
  left=$((BUDGET - $(elapsed)))
  if [ "$left" -lt "$min" ]; then
    echo "not started ($left s of the ${BUDGET} s budget left, needs $min): $*"
    LAST_RC=125
    return 125
  fi
  timeout -k 10 "$((left < max ? left : max))" "$@"
  LAST_RC=$?
  return $LAST_RC
}
finish() {
  echo; echo "=== summary (total $(elapsed)s)"
  printf '  %s\n' "${SUMMARY[@]}"
  echo "log: $LOG"
  exec >&- 2>&-
  wait "$TEE_PID"  # the log is complete before the command returns (the device run ends what is left running)
  exit $FAILED
}

step "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "nvidia-smi not found"
nvcc --version | tail -1 || true
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" || echo "no torch"

step "configure (Release, CJ_CUDA=ON, sm_90)"
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
CONFIG=(-S "$ROOT" -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DCJ_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90)
# A GPU machine without Debian's -dev packages builds the engine only (no FFmpeg, Chipmunk,
# yaml-cpp, stb), against the Eigen/json/GoogleTest/Benchmark that tools/gpu-deps-pack.sh carried.
KERNELS_ONLY=OFF
if ! pkg-config --exists libavformat 2>/dev/null || [ ! -f /usr/include/chipmunk/chipmunk.h ]; then
  KERNELS_ONLY=ON
  echo "no FFmpeg/Chipmunk dev files here: kernels-only build"
fi
if [ -d "$ROOT/.gpudeps/usr" ]; then
  CONFIG+=(-DCMAKE_PREFIX_PATH="$ROOT/.gpudeps/usr")
  export LD_LIBRARY_PATH="$ROOT/.gpudeps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
fi
# Without a system cuDNN, the one PyTorch's wheel (nvidia-cudnn-cu13) brings: headers and only a
# versioned libcudnn.so.9, which CMake's find_library(cudnn) cannot see (the configure said cuDNN OFF).
if [ ! -f /usr/local/cuda/include/cudnn.h ] && [ ! -f /usr/include/cudnn.h ]; then
  CUDNN_WHEEL=$(python3 -c 'import nvidia.cudnn; print(list(nvidia.cudnn.__path__)[0])' 2>/dev/null || true)
  CUDNN_SO=$(ls "$CUDNN_WHEEL"/lib/libcudnn.so.* 2>/dev/null | head -1)
  if [ -f "$CUDNN_WHEEL/include/cudnn.h" ] && [ -n "$CUDNN_SO" ]; then
    echo "cuDNN from PyTorch's wheel: $CUDNN_SO"
    CONFIG+=(-DCUDNN_INCLUDE_DIR="$CUDNN_WHEEL/include" -DCUDNN_LIBRARY="$CUDNN_SO")
    export LD_LIBRARY_PATH="$CUDNN_WHEEL/lib:${LD_LIBRARY_PATH:-}"  # cuDNN loads its engine libraries from there
  fi
fi
CONFIG+=(-DCJ_KERNELS_ONLY=$KERNELS_ONLY)
if ! cmake "${CONFIG[@]}" -DCJ_BUILD_BENCH=ON; then
  echo "configure with benchmarks failed; retrying without them (no Google Benchmark here?)"
  rm -rf "$BUILD"
  cmake "${CONFIG[@]}" -DCJ_BUILD_BENCH=OFF
fi
record configure $?
[ $FAILED -eq 0 ] || finish

step "build"
existing_targets() {  # prints those of the named targets that this configuration has
  local all t
  all=$(cmake --build "$BUILD" --target help 2>/dev/null)
  for t in "$@"; do grep -qw "$t" <<< "$all" && echo "$t"; done
}
# The whole-model benches (bench_dinov2, bench_predictor) run below with --device=cuda. The CPU suites
# are built in their own step, the last, so that their compile time is not taken from the GPU steps.
mapfile -t TARGETS < <(existing_targets cj_test_cuda cjepa bench_cuda_ops sandbox_attention sandbox_softmax \
  sandbox_layer_norm sandbox_elementwise bench_dinov2 bench_predictor)
echo "targets: ${TARGETS[*]}"
# Keep going past a target that does not compile: each step below skips a program that was not built.
KEEP_GOING=(-k 0)
[ ${#GEN[@]} -eq 0 ] && KEEP_GOING=(-k)
# An earlier run's program must not stand in for one that fails to build now: each is relinked.
for t in "${TARGETS[@]}"; do rm -f "$BUILD/bin/$t" "$BUILD/tests/$t"; done
cmake --build "$BUILD" -j"$(nproc)" --target "${TARGETS[@]}" -- "${KEEP_GOING[@]}"
record build $?
[ -x "$BUILD/tests/cj_test_cuda" ] || { echo "cj_test_cuda was not built: no GPU step can run"; finish; }

if [ -x "$BUILD/bin/cjepa" ]; then
  step "cjepa info"
  "$BUILD/bin/cjepa" info
  record "cjepa info" $?
  "$BUILD/bin/cjepa" info --selftest  # a kernel and a 1 MiB round trip, then the allocator's stats
  record "cjepa info --selftest" $?
else
  skip "cjepa info (no cjepa program in a kernels-only build)"
fi

# Without this, a machine whose GPU our CUDA runtime cannot use would end with every GPU step "ok":
# each test, bench and sandbox skips, saying why, and exits 0.
step "GPU visible to this build (one saxpy kernel)"
PROBE=$(timeout -k 5 60 "$BUILD/tests/cj_test_cuda" --gtest_filter=CudaDevice.SaxpyKernelRunsOnTheGpu 2>&1)
rc=$?
echo "$PROBE"
if grep -q "no GPU:" <<< "$PROBE"; then
  SUMMARY+=("FAIL  GPU not usable by this build, so every GPU step below only skipped: $(grep -o 'no GPU:.*' <<< "$PROBE" | head -1)")
  FAILED=1
  LAST_T=$(date +%s)
else
  record "saxpy kernel on the GPU" "$rc"
fi

# What follows runs in order of value for a session with little GPU time (correctness, then the
# README's tables, then the extras), each step bounded by what is left of BUDGET seconds.
step "CUDA tests (one process; per-test ctest only if it crashes)"
if bounded 60 300 "$BUILD/tests/cj_test_cuda" --gtest_brief=1; then
  record "cj_test_cuda" 0
else
  rc=$LAST_RC
  record "cj_test_cuda" "$rc"
  if [ "$rc" -gt 1 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 125 ]; then  # a crash, not failed assertions: find the culprit(s)
    echo "cj_test_cuda exited with $rc: running each test in its own process to isolate it"
    (cd "$BUILD" && bounded 60 240 ctest -L cuda --output-on-failure --timeout 60)
    record "ctest -L cuda (isolation)" $?
  fi
fi

step "benchmarks: cjepa vs PyTorch, same card, TF32 off"
if [ -x "$BUILD/bin/bench_cuda_ops" ]; then
  bounded 30 150 "${LINEBUF[@]}" "$BUILD/bin/bench_cuda_ops" --benchmark_out="$OUTDIR/bench_cuda_ops.json" --benchmark_out_format=json
  record "bench_cuda_ops" "$LAST_RC"
  bounded 30 150 python3 "$ROOT/bench/torch_cuda_reference.py" --ours "$OUTDIR/bench_cuda_ops.json"
  record "torch_cuda_reference.py" "$LAST_RC"
else
  skip "benchmarks (not built)"
fi

step "model benchmarks: DINOv2 forward (B=192, f32 and bf16) and predictor step (B=256) vs PyTorch, --device=cuda"
if [ -x "$BUILD/bin/bench_dinov2" ] && [ -x "$BUILD/bin/bench_predictor" ]; then
  MODELS=bench_dinov2 bounded 40 150 "$ROOT/bench/run_models.sh" "$BUILD" 1 --device=cuda --batch=192
  record "run_models.sh dinov2 f32" "$LAST_RC"
  MODELS=bench_dinov2 bounded 40 150 "$ROOT/bench/run_models.sh" "$BUILD" 1 --device=cuda --batch=192 --dtype=bf16
  record "run_models.sh dinov2 bf16" "$LAST_RC"
  MODELS=bench_predictor bounded 40 150 "$ROOT/bench/run_models.sh" "$BUILD" 1 --device=cuda --batch=256
  record "run_models.sh predictor" "$LAST_RC"
  # ours only, dropout masks kept instead of drawn again: the time that redrawing costs for its memory
  CJ_DROPOUT_MASKS=keep bounded 20 60 "$BUILD/bin/bench_predictor" --device=cuda --batch=256
  record "bench_predictor, dropout masks kept" "$LAST_RC"
else
  skip "model benchmarks (not built)"
fi

step "kernel sandbox: versions side by side, each checked against the CPU (bench/sandbox)"
for prog in sandbox_attention sandbox_softmax sandbox_layer_norm sandbox_elementwise; do
  if [ -x "$BUILD/bin/$prog" ]; then
    bounded 20 120 "${LINEBUF[@]}" "$BUILD/bin/$prog"
    record "$prog" "$LAST_RC"
  else
    skip "$prog (not built)"
  fi
done

step "compute-sanitizer: memcheck on cj_test_cuda, racecheck on the tensor-core flash tests"
SANITIZER=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
if [ -n "$SANITIZER" ]; then
  # The allocator's out-of-memory test fails cudaMalloc on purpose; memcheck would count that
  # deliberate API error, so that one test runs outside the sanitizer (above).
  # The riskiest kernels first (index arithmetic, most of them new since the last GPU run), then the
  # rest, each bounded, so that a slow sanitizer still reports on the riskiest ones.
  RISKY='CudaFlashAttention*:CudaSort*:CudaIndex*:CudaReduce*:CudaConvPaths*:CudaCopy*:CudaSoftmax*:CudaOptim*:CudaRandom*:CudaJoin*'
  bounded 60 150 "$SANITIZER" --tool memcheck --error-exitcode 1 --leak-check no "$BUILD/tests/cj_test_cuda" \
    --gtest_brief=1 --gtest_filter="$RISKY"
  record "compute-sanitizer memcheck (riskiest kernels)" "$LAST_RC"
  bounded 60 150 "$SANITIZER" --tool memcheck --error-exitcode 1 --leak-check no "$BUILD/tests/cj_test_cuda" \
    --gtest_brief=1 --gtest_filter="-$RISKY:CudaAllocator.HugeRequestGivesOneClearError"
  record "compute-sanitizer memcheck (the rest)" "$LAST_RC"
  # The tensor-core flash forward double-buffers its tiles (cp.async): racecheck on its tests.
  bounded 30 90 "$SANITIZER" --tool racecheck --error-exitcode 1 "$BUILD/tests/cj_test_cuda" \
    --gtest_brief=1 --gtest_filter='CudaFlashAttention.TensorCore*'
  record "compute-sanitizer racecheck (tensor-core flash)" "$LAST_RC"
else
  skip "compute-sanitizer (not installed)"
fi

step "model benchmarks beside torch.compile (PyTorch side compiled)"
if [ -x "$BUILD/bin/bench_dinov2" ] && [ -x "$BUILD/bin/bench_predictor" ]; then
  TORCH_EXTRA=--compile MODELS=bench_dinov2 bounded 90 200 "$ROOT/bench/run_models.sh" "$BUILD" 1 --device=cuda \
    --batch=192 --dtype=bf16
  record "run_models.sh dinov2 bf16 vs torch.compile" "$LAST_RC"
  TORCH_EXTRA=--compile MODELS=bench_predictor bounded 90 200 "$ROOT/bench/run_models.sh" "$BUILD" 1 --device=cuda \
    --batch=256
  record "run_models.sh predictor vs torch.compile" "$LAST_RC"
fi

step "CPU suites (tensor, autograd, nn, apps): build, then run"
mapfile -t CPU_SUITES < <(existing_targets cj_test_tensor cj_test_autograd cj_test_nn cj_test_apps)
if bounded 60 200 cmake --build "$BUILD" -j"$(nproc)" --target "${CPU_SUITES[@]}"; then
  (cd "$BUILD" && OMP_NUM_THREADS=4 bounded 30 240 ctest -L 'tensor|autograd|nn|apps' -j"$(nproc)" --output-on-failure \
    --timeout 120)
  record "cpu suites (build, ctest)" $?
else
  record "build cpu suites" "$LAST_RC"
fi

finish
