#!/usr/bin/env bash
# The README's main-job command: installs what is missing (apt), builds, and runs the most
# complete pipeline that exists today (cjepa demo). Extra arguments go to cjepa demo.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
"${BUILD_DIR:-$root/build}/bin/cjepa" info
exec "${BUILD_DIR:-$root/build}/bin/cjepa" demo "$@"
