#!/usr/bin/env bash
# Packs the build-time C++ dependencies of a kernels-only build (Eigen, nlohmann-json, GoogleTest,
# Google Benchmark) from this Debian machine into .gpudeps/usr, so a GPU machine that has the CUDA
# toolkit but not these Debian -dev packages (and no network) can build the GPU tests and benchmarks.
# .gpudeps/ is git-ignored; tools/gpu-check.sh uses it when present.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.gpudeps"
rm -rf "$dest"
for pkg in libeigen3-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev libbenchmark1debian; do
  dpkg-query -W "$pkg" >/dev/null 2>&1 || { echo "gpu-deps-pack: $pkg is not installed here (run scripts/install-deps.sh)"; exit 1; }
  dpkg -L "$pkg" | while read -r f; do
    case "$f" in
      /usr/share/doc/*|/usr/share/man/*|/usr/src/*) continue ;;
    esac
    if [ -f "$f" ] || [ -L "$f" ]; then
      mkdir -p "$dest$(dirname "$f")"
      cp -a "$f" "$dest$f"
    fi
  done
done
du -sh "$dest"
