#!/usr/bin/env bash
# The main job on the embedded emulator, on a fresh demo world every run (the same output on
# every machine): validate, plan, apply, and a second plan that must report no changes.
set -euo pipefail
cd "$(dirname "$0")/.."
R=.venv/bin/reconciler
echo "== reconciler validate specs/"
$R validate specs

STATE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/reconciler-demo.XXXXXX")
trap 'rm -rf "$STATE_DIR"' EXIT
FLEET=(--emulator --emulator-state "$STATE_DIR/fleet.sqlite")

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
$R "${FLEET[@]}" plan specs --stats

echo
echo "== reconciler --emulator apply specs/ --auto-approve --allow-restart --allow-irreversible"
$R "${FLEET[@]}" apply specs --auto-approve --allow-restart --allow-irreversible

echo
echo "== reconciler --emulator plan specs/ --detailed-exitcode   (after apply: no changes, exit 0)"
set +e
$R "${FLEET[@]}" plan specs --detailed-exitcode
status=$?
set -e
echo "-- exit code $status"
if [ "$status" -ne 0 ]; then
    echo "demo: the plan after apply must report no changes (exit 0), got $status" >&2
    exit 1
fi

echo
echo "== reconciler --emulator drift specs/ -o .reconciler/drift-report.html   (nightly: in sync, exit 0)"
mkdir -p .reconciler
set +e
$R "${FLEET[@]}" drift specs -o .reconciler/drift-report.html
status=$?
set -e
echo "-- exit code $status (0 in sync, 2 drift); HTML report: .reconciler/drift-report.html"
if [ "$status" -ne 0 ]; then
    echo "demo: the drift report after apply must be in sync (exit 0), got $status" >&2
    exit 1
fi
