#!/usr/bin/env bash
# The README's main-job command: installs what is missing (apt), builds, and runs the most
# complete pipeline that exists today. Extra arguments go to the cjepa command it runs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" >/dev/null
exec "${BUILD_DIR:-$root/build}/bin/cjepa" info "$@"
