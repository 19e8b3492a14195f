#!/usr/bin/env bash
# The main job on the embedded emulator. Grows as commands land.
set -euo pipefail
cd "$(dirname "$0")/.."
R=.venv/bin/reconciler
echo "== reconciler validate specs/"
$R validate specs

# A fresh demo world for every run, so the demo shows the same plan on every machine.
STATE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/reconciler-demo.XXXXXX")
trap 'rm -rf "$STATE_DIR"' EXIT

echo
echo "== reconciler --emulator plan specs/examples/refusals   (refused: exit 1 expected)"
set +e
$R --emulator --emulator-state "$STATE_DIR/refusals.sqlite" plan specs/examples/refusals
status=$?
set -e
echo "-- exit code $status (1 = the plan refuses; the refusals above say what to fix)"
if [ "$status" -ne 1 ]; then
    echo "demo: expected exit 1 from the refusals example, got $status" >&2
    exit 1
fi

echo
echo "== reconciler --emulator plan specs/   (the demo fleet)"
$R --emulator --emulator-state "$STATE_DIR/fleet.sqlite" plan specs --stats
