#!/usr/bin/env bash
# The main job of `make demo`: $1 is the release build directory.
set -euo pipefail
b=${1:-build/release}
exec "$b/iommusim" demo
