#!/usr/bin/env bash
# The README's test command: installs what is missing (apt), builds, runs every test with output.
# Extra arguments go to CMake (e.g. -DCJ_CUDA=OFF).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$@"
cd "${BUILD_DIR:-$root/build}"
ctest --output-on-failure -j "${JOBS:-$(nproc)}"
