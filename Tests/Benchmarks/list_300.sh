#!/usr/bin/env bash
# Issue 2 benchmark: `keyward list --format json` on a generated workspace of 300 environments x 3
# sets. Targets: median <= 150 ms; peak RSS <= 30 MB.
source "$(dirname "$0")/lib.sh"
build_release
python3 -c 'import nacl' 2>/dev/null || python3 -m pip install -q pynacl
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
python3 "$(dirname "$0")/gen_workspace.py" "$W/Environments" 300 3
hyperfine -N --warmup 3 --runs 30 --export-json "$OUT/list_300.json" \
  "$KEYWARD list --format json --workspace $W/Environments" >/dev/null
ms=$(median_ms "$OUT/list_300.json" 0)
rss=$(peak_rss_mb "$KEYWARD" list --format json --workspace "$W/Environments")
machine
echo "keyward list --format json, 300 environments x 3 sets: median $ms ms, peak RSS $rss MB"
check "list median (ms)" "$ms" "<=" 150
check "list peak RSS (MB)" "$rss" "<=" 30
exit $FAILED
