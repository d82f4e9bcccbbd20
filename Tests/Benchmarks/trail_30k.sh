#!/usr/bin/env bash
# Issue 13 benchmark: the team trail at 300 environments x 3 sets with 30,000 signed entries, the
# first 29,000 in an admin's checkpoint and the last 1,000 as entry files, written by independent
# generators from FORMAT.md (gen_workspace.py, gen_trust.py, gen_trail.py). The machine has no
# pin (KEYWARD_TRUST): every state signature is checked too.
# Targets: audit --format json <= 300 ms; audit --full (every entry's signature) <= 1.5 s;
# log --format json <= 300 ms; export never reads the whole trail (compared with an empty trail).
source "$(dirname "$0")/lib.sh"
build_release
python3 -c 'import nacl' 2>/dev/null || python3 -m pip install -q pynacl
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
mkdir -m 700 "$W/keys"
export KEYWARD_KEYS_DIR="$W/keys" NO_COLOR=1
python3 "$(dirname "$0")/gen_workspace.py" "$W/Environments" 300 3 --keys "$W/keys"
ROOT=$(python3 "$(dirname "$0")/gen_trust.py" "$W/Environments" "$W/keys" 3 --admin-seed "$W/admin.seed")
export KEYWARD_TRUST="$ROOT"
cp -r "$W/Environments" "$W/Small"
python3 "$(dirname "$0")/gen_trail.py" "$W/Environments" "$W/admin.seed" 30000 29000 >/dev/null
python3 "$(dirname "$0")/gen_trail.py" "$W/Small" "$W/admin.seed" 10 0 >/dev/null
"$KEYWARD" audit --format json --workspace "$W/Environments" > "$W/audit.json" || true
ok=$(python3 -c "import json,sys; t=json.load(open(sys.argv[1]))['trail']; print(1 if t['intact'] and t['entry_count']==30000 and t['attested_count']==29000 and t['signed_count']==1000 else 0)" "$W/audit.json")
hyperfine -N -i --warmup 2 --runs 15 --export-json "$OUT/trail_30k.json" \
  "$KEYWARD audit --format json --workspace $W/Environments" \
  "$KEYWARD log --format json --workspace $W/Environments" >/dev/null
hyperfine -N -i --warmup 1 --runs 5 --export-json "$OUT/trail_30k_full.json" \
  "$KEYWARD audit --format json --full --workspace $W/Environments" >/dev/null
# Seven alternating rounds (lib.sh): one hyperfine call runs its two commands in turn, and this
# machine's phase moved the ratio of one call from 0.8 to 1.14 with nothing changed.
rounds trail_30k_export "$KEYWARD export env0001 --workspace $W/Environments" \
  "$KEYWARD export env0001 --workspace $W/Small"
ratio=$RATIO
audit=$(median_ms "$OUT/trail_30k.json" 0)
log=$(median_ms "$OUT/trail_30k.json" 1)
full=$(median_ms "$OUT/trail_30k_full.json" 0)
big=$(median_ms "$OUT/trail_30k_export.7.json" 0)
small=$(median_ms "$OUT/trail_30k_export.7.json" 1)
rss=$(peak_rss_mb "$KEYWARD" audit --format json --workspace "$W/Environments")
machine
echo "trail of 30,000 signed entries (29,000 checkpointed), 300 environments x 3 sets:"
echo "  audit --format json $audit ms (peak RSS $rss MB); audit --full $full ms; log --format json $log ms"
echo "  export with that trail $big ms vs with a 10-entry trail $small ms (last round); median ratio of 7 rounds $ratio"
check "trail intact, 30,000 entries, 29,000 attested, 1,000 verified (1 = yes)" "$ok" "==" 1
check "audit median (ms)" "$audit" "<=" 300
check "audit --full median (ms)" "$full" "<=" 1500
check "log median (ms)" "$log" "<=" 300
check "export with a 30,000-entry trail vs 10 entries (ratio)" "$ratio" "<=" 1.1
exit $FAILED
