#!/usr/bin/env bash
# The main job on the embedded emulator. Grows as commands land.
set -euo pipefail
cd "$(dirname "$0")/.."
R=.venv/bin/reconciler
echo "== reconciler validate specs/"
$R validate specs
