#!/usr/bin/env bash
# Issue 12 benchmark: on a trusted workspace (a pinned root, a signed state, a signed activation
# manifest), `show --reveal --format json` and `export --format dotenv` (trail append included) as
# cold processes vs `age -d` of the same two values, with the key taken two ways: the key store's
# file (an admin's machine) and a CI reader's own identity through its wrap (no shared key). And
# `run -- true` against a bare `true`. Targets: show and export <= 1.0x age; run overhead <= 5 ms.
source "$(dirname "$0")/lib.sh"
need age age
build_release
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
export KEYWARD_KEYS_DIR="$W/keys" NO_COLOR=1
E="$W/Environments"
"$KEYWARD" identity new --name alice -q >/dev/null 2>&1
"$KEYWARD" init --workspace "$E" --envs prod -q
printf 'ck_live_bench_0123456789\ncs_live_bench_0123456789abcdef0123456789\n' \
  | "$KEYWARD" set prod --stdin --workspace "$E" -q
"$KEYWARD" identity new --name ci --identity "$W/ci.id" > "$W/ci.pub" 2>/dev/null
"$KEYWARD" access grant prod ci "$(cut -d' ' -f2 "$W/ci.pub")" --reader --workspace "$E" -q
ROOT=$("$KEYWARD" trust show --format json --workspace "$E" | python3 -c 'import json,sys; print(json.load(sys.stdin)["root_fingerprint"])')
mkdir -m 700 "$W/ci-keys"
age-keygen -o "$W/age.key" 2>/dev/null
printf '{"app_key":"ck_live_bench_0123456789","app_secret":"cs_live_bench_0123456789abcdef0123456789"}\n' \
  | age -e -i "$W/age.key" -o "$W/values.age"
cd "$W"
AGE="age -d -i $W/age.key $W/values.age"
rounds trusted_show_store "$KEYWARD show prod --reveal --format json --workspace $E" "$AGE"
SHOW_STORE=$RATIO
rounds trusted_export_store "$KEYWARD export prod --workspace $E" "$AGE"
EXPORT_STORE=$RATIO
# The CI reader: its own key store (no key file), its identity, the root given as KEYWARD_TRUST
# (exported for these rounds only; hyperfine runs keyward directly, with no shell in between).
KEYWARD_KEYS_DIR="$W/ci-keys" KEYWARD_IDENTITY="$W/ci.id" KEYWARD_TRUST="$ROOT" \
  rounds trusted_show_wrap "$KEYWARD show prod --reveal --format json --workspace $E" "$AGE"
SHOW_WRAP=$RATIO
# The same workspace with no trust root, for the cost of trust itself.
V1="$W/v1/Environments"
KEYWARD_KEYS_DIR="$W/v1-keys" "$KEYWARD" init --workspace "$V1" --envs prod -q
printf 'ck_live_bench_0123456789\ncs_live_bench_0123456789abcdef0123456789\n' \
  | KEYWARD_KEYS_DIR="$W/v1-keys" "$KEYWARD" set prod --stdin --workspace "$V1" -q
rounds trusted_vs_v1 "env KEYWARD_KEYS_DIR=$W/keys $KEYWARD show prod --reveal --format json --workspace $E" \
  "env KEYWARD_KEYS_DIR=$W/v1-keys $KEYWARD show prod --reveal --format json --workspace $V1"
TRUST_COST=$RATIO
rounds trusted_run "$KEYWARD run prod --workspace $E -- true" "true"
RUN_MS=$(python3 -c "print('%.2f' % ($(median_ms "$OUT/trusted_run.7.json" 0) - $(median_ms "$OUT/trusted_run.7.json" 1)))")
machine
echo "trusted show / the same show on a v1 workspace (both through env(1)): $TRUST_COST"
check "trusted show (key file) / age" "$SHOW_STORE" "<=" 1.0
check "trusted export (key file) / age" "$EXPORT_STORE" "<=" 1.0
check "trusted show (reader's wrap) / age" "$SHOW_WRAP" "<=" 1.0
check "trusted run overhead, ms" "$RUN_MS" "<=" 5
exit $FAILED
