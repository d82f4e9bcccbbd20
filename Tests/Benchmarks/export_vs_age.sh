#!/usr/bin/env bash
# Issue 6 benchmark: `keyward export prod --format dotenv` (one set, to stdout; the run includes
# the audit-trail append) as a cold process vs `age -d` of a file holding the same two values.
# Target: median ratio <= 1.0.
source "$(dirname "$0")/lib.sh"
need age age
build_release
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
export KEYWARD_KEYS_DIR="$W/keys" NO_COLOR=1 KEYWARD_ACTOR=bench@example.invalid
"$KEYWARD" init --workspace "$W/Environments" --envs prod -q
printf 'ck_live_bench_0123456789\ncs_live_bench_0123456789abcdef0123456789\n' \
  | "$KEYWARD" set prod --stdin --workspace "$W/Environments" -q
age-keygen -o "$W/age.key" 2>/dev/null
printf 'CAPTCHALA_APP_KEY=ck_live_bench_0123456789\nCAPTCHALA_APP_SECRET=cs_live_bench_0123456789abcdef0123456789\n' \
  | age -e -i "$W/age.key" -o "$W/values.age"
cd "$W"
rounds export_vs_age "$KEYWARD export prod --format dotenv --workspace $W/Environments" \
  "age -d -i $W/age.key $W/values.age"
machine
echo "audit trail after the runs: $(wc -l < "$W/Environments/audit.jsonl") lines"
check "export/age median ratio (median of 7 rounds)" "$RATIO" "<=" 1.0
exit $FAILED
