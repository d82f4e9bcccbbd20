#!/usr/bin/env bash
# Issue 17 benchmark: the trail at two sizes side by side, so the growth is visible —
#   300 environments x 3 sets with 30,000 signed entries, and 3,000 x 3 with 300,000 entries;
# at each, the last 1,000 entries come after one admin-signed checkpoint with its index — and a
# third column, 3,000 x 3 with a 10-entry trail, which separates the workspace's growth (ten times
# the environments) from the trail's. Everything
# is written by independent generators from FORMAT.md (gen_workspace.py, gen_trust.py,
# gen_trail.py with Tests/Compat/trail_index.py). No pin (KEYWARD_TRUST): every state signature
# is checked too. Whole commands: list, check, audit, audit --full, log, export, and a `set`
# (rotate from a file, after discarding the pending set) as the admin.
# Targets at the larger size: peak RSS <= 64 MB for every command; list <= 150 ms; check <= 1 s;
# audit <= 2 s; audit --full <= 12 s; export and set within 10% of their time at the smaller size
# (timed in turn with in_turn.py). Not a target of the issue, and checked too: export and set within
# 10% of the same 3,000-environment workspace with a 10-entry trail.
source "$(dirname "$0")/lib.sh"
build_release
python3 -c 'import nacl' 2>/dev/null || python3 -m pip install -q pynacl
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
export NO_COLOR=1
printf 'CAPTCHALA_APP_KEY=ck_bench_12345678\nCAPTCHALA_APP_SECRET=cs_bench_secret_0123456789abcdef\n' > "$W/pair.env"
declare -A T R
# use SIZE: the environment that size's commands run in (its keys, its root, its admin's identity).
use() {
  local D="$W/$1"
  export KEYWARD_KEYS_DIR="$D/keys" KEYWARD_TRUST="$(cat "$D/root")"
  # The admin signs the `set` (a bare kwid1: seed in KEYWARD_IDENTITY, as FORMAT.md allows).
  export KEYWARD_IDENTITY="kwid1:$(python3 -c 'import base64,sys; print(base64.b64encode(bytes.fromhex(open(sys.argv[1]).read().strip())).decode())' "$D/admin.seed")"
  ws="--workspace $D/Environments"
}
sizes="small large base"
for size in $sizes; do
  case $size in small) envs=300; n=30000; c=29000;; large) envs=3000; n=300000; c=299000;; base) envs=3000; n=10; c=0;; esac
  D="$W/$size"; mkdir -p -m 700 "$D/keys"
  python3 "$(dirname "$0")/gen_workspace.py" "$D/Environments" $envs 3 --keys "$D/keys" >/dev/null
  python3 "$(dirname "$0")/gen_trust.py" "$D/Environments" "$D/keys" 3 --admin-seed "$D/admin.seed" > "$D/root"
  python3 "$(dirname "$0")/gen_trail.py" "$D/Environments" "$D/admin.seed" $n $c >/dev/null
  use $size
  "$KEYWARD" audit --format json $ws > "$W/audit.json" || true
  python3 -c "import json,sys; t=json.load(open(sys.argv[1]))['trail']; sys.exit(0 if t['intact'] and t['entry_count']==$n else 1)" "$W/audit.json" \
    || { echo "FAIL  the $size trail is not intact with $n entries"; FAILED=1; }
done
# The readers, one size after the other.
for size in $sizes; do
  use $size
  runs=10; [ $size = small ] || runs=5
  hyperfine -N -i --warmup 1 --runs $runs --export-json "$OUT/trail_scale_$size.json" \
    "$KEYWARD list --format json $ws" "$KEYWARD check --format json $ws" "$KEYWARD audit --format json $ws" >/dev/null
  hyperfine -N -i --runs 3 --export-json "$OUT/trail_scale_${size}_log.json" "$KEYWARD log --format json $ws" >/dev/null
  hyperfine -N -i --runs 1 --export-json "$OUT/trail_scale_${size}_full.json" "$KEYWARD audit --full --format json $ws" >/dev/null
  for k in 0 1 2; do T[$size,$k]=$(median_ms "$OUT/trail_scale_$size.json" $k); done
  T[$size,log]=$(median_ms "$OUT/trail_scale_${size}_log.json" 0)
  T[$size,full]=$(median_ms "$OUT/trail_scale_${size}_full.json" 0)
  R[$size,0]=$(peak_rss_mb "$KEYWARD" list --format json $ws)
  R[$size,1]=$(peak_rss_mb "$KEYWARD" check --format json $ws)
  R[$size,2]=$(peak_rss_mb "$KEYWARD" audit --format json $ws)
  R[$size,3]=$(peak_rss_mb "$KEYWARD" export env0001 $ws)
  R[$size,log]=$(peak_rss_mb "$KEYWARD" log --format json $ws)
  R[$size,full]=$(peak_rss_mb "$KEYWARD" audit --full --format json $ws)
  "$KEYWARD" discard env0001 $ws >/dev/null 2>&1 || true
  R[$size,set]=$(peak_rss_mb "$KEYWARD" rotate env0001 --from-file "$W/pair.env" $ws)
done
# export and set are compared across sizes, so they are timed in turn (in_turn.py: run i of each
# size, then run i + 1 of each), and each ratio is the median over the turns of one run's ratio.
# Timed minutes apart, one size met a slow phase of the machine and the other a fast one (the
# same build gave 1.06 to 1.23 for `set`). Each size's first export and set above made the
# records a deploy and a write read (see README, Decisions).
spec() {  # spec RUNS WHAT: the in_turn.py document for export (WHAT=export) or set, every size
  local runs=$1 what=$2 size out=""
  for size in $sizes; do
    use $size
    out+=$(python3 -c '
import json, os, sys
k, what, size, ws, pair = sys.argv[1:6]
ws = ws.split()
env = {v: os.environ[v] for v in ("KEYWARD_KEYS_DIR", "KEYWARD_TRUST", "KEYWARD_IDENTITY")}
if what == "export":
    c = {"name": size, "argv": [k, "export", "env0001"] + ws, "env": env}
else:
    c = {"name": size, "argv": [k, "rotate", "env0001", "--from-file", pair] + ws, "env": env,
         "prepare": [k, "discard", "env0001"] + ws}
print(json.dumps(c) + ",")' "$KEYWARD" $what $size "$ws" "$W/pair.env")
  done
  echo "{\"runs\": $runs, \"warmup\": 3, \"commands\": [${out%,}]}"
}
spec 300 export | python3 "$(dirname "$0")/in_turn.py" > "$OUT/trail_scale_export.json"
spec 60 set | python3 "$(dirname "$0")/in_turn.py" > "$OUT/trail_scale_set.json"
# of FILE KEY…: a member of an in_turn.py document (a median in ms, or a ratio).
of() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=d[sys.argv[2]][sys.argv[3]]; print(("%.2f" if sys.argv[2] == "ratios" else "%.3f") % v)' "$@"; }
for size in $sizes; do
  T[$size,3]=$(of "$OUT/trail_scale_export.json" $size median_ms)
  T[$size,set]=$(of "$OUT/trail_scale_set.json" $size median_ms)
done
rm -rf "$W/small" "$W/large" "$W/base"
machine
printf '%-14s %22s %22s %22s\n' command "300 x 3, 30,000" "3,000 x 3, 300,000" "3,000 x 3, 10 entries"
for k in 0 1 2 3 log full set; do
  case $k in 0) name=list;; 1) name=check;; 2) name=audit;; 3) name=export;; log) name=log;; full) name="audit --full";; set) name="set (rotate)";; esac
  printf '%-14s %12s ms %6s MB %12s ms %6s MB %12s ms %6s MB\n' "$name" "${T[small,$k]}" "${R[small,$k]}" \
    "${T[large,$k]}" "${R[large,$k]}" "${T[base,$k]}" "${R[base,$k]}"
done
for k in 0 1 2 3 log full set; do check "peak RSS at 300,000 entries, command $k (MB)" "${R[large,$k]}" "<=" 64; done
check "list at 300,000 (ms)" "${T[large,0]}" "<=" 150
check "check at 300,000 (ms)" "${T[large,1]}" "<=" 1000
check "audit at 300,000 (ms)" "${T[large,2]}" "<=" 2000
check "audit --full at 300,000 (ms)" "${T[large,full]}" "<=" 12000
check "export: large / small (in turn, 300 runs)" "$(of "$OUT/trail_scale_export.json" ratios large/small)" "<=" 1.1
check "set: large / small (in turn, 60 runs)" "$(of "$OUT/trail_scale_set.json" ratios large/small)" "<=" 1.1
check "export: large / the same workspace with 10 entries" "$(of "$OUT/trail_scale_export.json" ratios large/base)" "<=" 1.1
check "set: large / the same workspace with 10 entries" "$(of "$OUT/trail_scale_set.json" ratios large/base)" "<=" 1.1
check "audit at 30,000 (ms; issue 13)" "${T[small,2]}" "<=" 300
check "audit --full at 30,000 (ms; issue 13)" "${T[small,full]}" "<=" 1500
check "log at 30,000 (ms; issue 13)" "${T[small,log]}" "<=" 300
exit $FAILED
