#!/usr/bin/env bash
# Issue 6 benchmark: `keyward run prod -- true` against plain `true`. Target: the median overhead
# (difference of medians) <= 5 ms.
source "$(dirname "$0")/lib.sh"
build_release
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
export KEYWARD_KEYS_DIR="$W/keys" NO_COLOR=1 KEYWARD_ACTOR=bench@example.invalid
"$KEYWARD" init --workspace "$W/Environments" --envs prod -q
printf 'ck_live_bench_0123456789\ncs_live_bench_0123456789abcdef0123456789\n' \
  | "$KEYWARD" set prod --stdin --workspace "$W/Environments" -q
TRUE="$(command -v true)"
hyperfine -N --warmup 20 --runs 300 --export-json "$OUT/run_overhead.json" \
  "$KEYWARD run prod --workspace $W/Environments -- $TRUE" "$TRUE" >/dev/null 2>&1
kr=$(median_ms "$OUT/run_overhead.json" 0); tr=$(median_ms "$OUT/run_overhead.json" 1)
overhead=$(python3 -c "print('%.2f' % ($kr - $tr))")
machine
echo "keyward run prod -- true: median $kr ms; true: median $tr ms; overhead $overhead ms"
check "run overhead (ms)" "$overhead" "<=" 5
exit $FAILED
