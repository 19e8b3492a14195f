#!/usr/bin/env bash
# A company fleet (README, "A company fleet"): two accounts x four regions, selected by tags,
# on a fresh emulator seeded with the company-fleet world (the same output on every machine).
# The base credentials are a RAM user that may only assume each account's role. Steps: plan
# (changes named `via: fleets.<name>` at `<account>/` addresses), apply, a plan that must be
# empty, a new instance tagged env=prod created in one account, the next plan covering it with
# no spec change, the same plans again as 4 shards merged (equal to the unsharded ones), and drift.
#   DEMO_FLEET_REPORT_DIR: where the drift report goes (default .reconciler/ of the checkout)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
R="$ROOT/.venv/bin/reconciler"
PY="$ROOT/.venv/bin/python"
SPEC=specs/examples/company-fleet
REPORT_DIR=${DEMO_FLEET_REPORT_DIR:-$ROOT/.reconciler}

fail() { echo "demo-fleet: $*" >&2; exit 1; }
[ -x "$R" ] || fail "$R is missing: run make demo-fleet (it creates .venv/ first)"

# A fresh work folder: the spec is copied there so apply's journal and locks (.reconciler/ of
# the working directory) stay out of the checkout and die with the demo.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/reconciler-demo-fleet.XXXXXX")
EMULATOR_PID=
cleanup() {
    if [ -n "$EMULATOR_PID" ]; then kill "$EMULATOR_PID" 2>/dev/null || true; wait "$EMULATOR_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/specs/examples" "$REPORT_DIR"
cp -R "$ROOT/$SPEC" "$WORK/$SPEC"
cd "$WORK"

# The emulator in a process of its own (the real SDK talks to it over HTTP); its first stdout
# line is its URL. A restart lasts one second on its clock.
"$R" emulator serve --seed company-fleet --restart-seconds 1 >"$WORK/emulator.out" 2>"$WORK/emulator.err" &
EMULATOR_PID=$!
for _ in $(seq 1 300); do
    ENDPOINT=$(sed -n 's/^emulator listening on //p' "$WORK/emulator.out")
    [ -n "$ENDPOINT" ] && break
    kill -0 "$EMULATOR_PID" 2>/dev/null || fail "the emulator did not start: $(cat "$WORK/emulator.err")"
    sleep 0.1
done
[ -n "${ENDPOINT:-}" ] || fail "the emulator did not print its URL within 30 s"
echo "== reconciler emulator serve --seed company-fleet   ($ENDPOINT)"

# The base credentials: RAM user fleet-deployer of account 1234567890123456, allowed only
# sts:AssumeRole; nothing from the caller's environment or profiles is used.
unset ALIBABA_CLOUD_SECURITY_TOKEN ALIBABA_CLOUD_PROFILE ALIBABA_CLOUD_ROLE_ARN
export ALIBABA_CLOUD_ACCESS_KEY_ID=fleet-deployer-key
export ALIBABA_CLOUD_ACCESS_KEY_SECRET=fleet-deployer-secret
export ALIBABA_CLOUD_ECS_METADATA_DISABLED=true ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true
export ALIBABA_CLOUD_CREDENTIALS_FILE="$WORK/no-credentials.ini"
export RECONCILER_STATE_HOME="$WORK/state" NO_COLOR=1
CLOUD=(--endpoint "$ENDPOINT")

# Runs the reconciler; fails the demo unless it exits with $1.
expect() {
    local want=$1 status
    shift
    set +e
    "$R" "${CLOUD[@]}" "$@"
    status=$?
    set -e
    echo "-- exit code $status"
    [ "$status" -eq "$want" ] || fail "expected exit $want from 'reconciler $*', got $status"
}

# Four CI runners' plans (`plan --shard I/4`: each a disjoint set of (account, region)), merged,
# must equal one unsharded plan (docs/ci/README.md, "Sharding").
sharded_equals_whole() {
    local i
    "$R" "${CLOUD[@]}" plan "$SPEC" --format json >"$WORK/whole.json" || fail "the unsharded plan failed"
    for i in 1 2 3 4; do
        "$R" "${CLOUD[@]}" plan "$SPEC" --shard "$i/4" --format json >"$WORK/shard-$i.json" \
            || fail "plan --shard $i/4 failed"
    done
    "$R" merge "$WORK"/shard-[1-4].json --format json >"$WORK/merged.json" || fail "merge failed"
    "$PY" "$ROOT/scripts/demo-fleet-compare.py" "$WORK/whole.json" "$WORK/merged.json" \
        || fail "the sharded run differs from the unsharded run"
}

echo
echo "== reconciler plan $SPEC --detailed-exitcode   (changes: exit 2)"
expect 2 plan "$SPEC" --detailed-exitcode

echo
echo "== reconciler apply $SPEC --auto-approve --allow-restart"
expect 0 apply "$SPEC" --auto-approve --allow-restart

echo
echo "== reconciler plan $SPEC --detailed-exitcode   (after apply: no changes, exit 0)"
expect 0 plan "$SPEC" --detailed-exitcode

echo
echo "== the sharded run equals the unsharded run (plan --shard I/4 for I in 1..4, reconciler merge)"
sharded_equals_whole

echo
echo "== a team creates an instance tagged env=prod in account retail (cn-shanghai), no spec change"
NEW_ID=$("$PY" "$ROOT/scripts/demo-fleet-new-instance.py" "$ENDPOINT")
echo "created $NEW_ID (tags env=prod, team=search)"

echo
echo "== reconciler plan $SPEC --detailed-exitcode   (the new instance is covered: exit 2)"
set +e
OUT=$("$R" "${CLOUD[@]}" plan "$SPEC" --detailed-exitcode)
status=$?
set -e
echo "$OUT"
echo "-- exit code $status"
[ "$status" -eq 2 ] || fail "expected exit 2 from the plan after the new instance, got $status"
grep -q "retail/rds_encryption.$NEW_ID (via fleets.retail-prod)" <<<"$OUT" \
    || fail "the plan does not cover the new instance $NEW_ID through fleets.retail-prod"

echo
echo "== the sharded run equals the unsharded run, with the new instance"
sharded_equals_whole

echo
echo "== reconciler drift $SPEC -o $REPORT_DIR/fleet-drift-report.html   (drift: exit 2)"
# Exit 2: the new instance is HIGH drift until applied; the env=staging instances (no fleet
# selects them) and the fleets' unencryptable members are reported as not encrypted.
expect 2 drift "$SPEC" -o "$REPORT_DIR/fleet-drift-report.html"
