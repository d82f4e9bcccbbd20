#!/usr/bin/env bash
# Issue 2 benchmark: `keyward show ENV --reveal --format json` (one set) as a cold process vs
# `age -d` (Debian's age) of a file holding the same two values. Target: median ratio <= 1.0.
source "$(dirname "$0")/lib.sh"
need age age
build_release
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
export KEYWARD_KEYS_DIR="$W/keys" NO_COLOR=1
"$KEYWARD" init --workspace "$W/Environments" --envs prod -q
printf 'ck_live_bench_0123456789\ncs_live_bench_0123456789abcdef0123456789\n' \
  | "$KEYWARD" set prod --stdin --workspace "$W/Environments" -q
age-keygen -o "$W/age.key" 2>/dev/null
printf '{"app_key":"ck_live_bench_0123456789","app_secret":"cs_live_bench_0123456789abcdef0123456789"}\n' \
  | age -e -i "$W/age.key" -o "$W/values.age"
cd "$W"
rounds show_vs_age "$KEYWARD show prod --reveal --format json --workspace $W/Environments" \
  "age -d -i $W/age.key $W/values.age"
machine
check "show/age median ratio (median of 7 rounds)" "$RATIO" "<=" 1.0
exit $FAILED
