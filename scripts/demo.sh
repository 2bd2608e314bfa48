#!/usr/bin/env bash
# The main job of `make demo`: $1 is the release build directory.
# Replays the bundled default trace (traces/nvme-4k.trace) on every IOMMU
# model with strict and with lazy invalidation and prints the comparison;
# `iommusim demo --machine` is the older machine-layer demonstration.
set -euo pipefail
b=${1:-build/release}
b=$(cd "$b" && pwd)
cd "$(dirname "$0")/.."
exec "$b/iommusim" demo
