#!/usr/bin/env bash
# Issue 7 benchmark: `keyward audit --format json` over 300 environments x 3 sets with a
# 30,000-line audit trail (chain verified in full). Target: <= 300 ms median.
source "$(dirname "$0")/lib.sh"
build_release
python3 -c 'import nacl' 2>/dev/null || python3 -m pip install -q pynacl
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
export KEYWARD_NOW=2026-03-15T00:00:00Z KEYWARD_KEYS_DIR="$W/no-keys" NO_COLOR=1
python3 "$(dirname "$0")/gen_workspace.py" "$W/Environments" 300 3 --plant "$W/expected.json" --trail 30000
hyperfine -N -i --warmup 2 --runs 20 --export-json "$OUT/audit_300.json" \
  "$KEYWARD audit --format json --workspace $W/Environments" >/dev/null
ms=$(median_ms "$OUT/audit_300.json" 0)
"$KEYWARD" audit --format json --workspace "$W/Environments" > "$W/audit.json" || true  # exit 1: the planted findings
intact=$(python3 -c "import json,sys; t=json.load(open(sys.argv[1]))['trail']; print(1 if t['intact'] and t['entry_count']==30000 else 0)" "$W/audit.json")
machine
echo "keyward audit --format json, 300 environments x 3 sets, 30,000-line trail: median $ms ms; chain intact and complete: $intact"
check "audit median (ms)" "$ms" "<=" 300
check "the generated 30,000-line chain verifies (1 = yes)" "$intact" "==" 1
exit $FAILED
