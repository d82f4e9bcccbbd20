#!/usr/bin/env bash
# Issue 3 benchmark: `keyward verify` of 200 sets against the emulator with 100 ms injected
# latency, at the default concurrency. Targets: within 1.5 s wall (sequential would take about
# 20 s); peak RSS <= 50 MB. Prints the ratio to the ideal, ceil(200 / concurrency) x 100 ms.
source "$(dirname "$0")/lib.sh"
build_release
python3 -c 'import nacl' 2>/dev/null || python3 -m pip install -q pynacl
W="$(mktemp -d)"
EMU=""
trap '[ -n "$EMU" ] && kill -9 $EMU 2>/dev/null; rm -rf "$W"' EXIT
export KEYWARD_KEYS_DIR="$W/keys" NO_COLOR=1 KEYWARD_ACTOR=bench@example.invalid
python3 "$(dirname "$0")/gen_workspace.py" "$W/Environments" 200 1 --keys "$W/keys" --pairs "$W/pairs.json"
"$ROOT/.build/release/keyward-cli" emulate --port 0 --pairs "$W/pairs.json" --latency 100 -q > "$W/emu.out" &
EMU=$!
for _ in $(seq 50); do grep -q listening "$W/emu.out" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^listening on //p' "$W/emu.out")
CONCURRENCY=32   # keyward verify's default
hyperfine -N --warmup 1 --runs 7 --export-json "$OUT/verify_200.json" \
  "$KEYWARD verify --workspace $W/Environments --endpoint $URL --format json" >/dev/null
ms=$(median_ms "$OUT/verify_200.json" 0)
ideal=$(python3 -c "import math; print(math.ceil(200 / $CONCURRENCY) * 100)")
rss=$(peak_rss_mb "$ROOT/.build/release/keyward-cli" verify --workspace "$W/Environments" --endpoint "$URL" --format json)
verdicts=$("$KEYWARD" verify --workspace "$W/Environments" --endpoint "$URL" --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['counts'])")
machine
echo "keyward verify, 200 sets, 100 ms latency, concurrency $CONCURRENCY: median $ms ms (ideal $ideal ms, ratio $(python3 -c "print('%.2f' % ($ms / $ideal))")); peak RSS $rss MB; verdicts $verdicts"
check "verify 200 sets wall (ms)" "$ms" "<=" 1500
check "verify peak RSS (MB)" "$rss" "<=" 50
exit $FAILED
