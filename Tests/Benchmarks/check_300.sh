#!/usr/bin/env bash
# Issue 4 benchmark: offline `keyward check --format json` over a generated workspace of 300
# environments x 3 sets with planted problems. Targets: <= 200 ms median, and every planted
# problem found.
source "$(dirname "$0")/lib.sh"
build_release
python3 -c 'import nacl' 2>/dev/null || python3 -m pip install -q pynacl
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
export KEYWARD_NOW=2026-03-15T00:00:00Z KEYWARD_KEYS_DIR="$W/no-keys" NO_COLOR=1
python3 "$(dirname "$0")/gen_workspace.py" "$W/Environments" 300 3 --plant "$W/expected.json"
# check exits 1 (the planted findings): hyperfine must accept that.
hyperfine -N -i --warmup 3 --runs 30 --export-json "$OUT/check_300.json" \
  "$KEYWARD check --format json --workspace $W/Environments" >/dev/null
ms=$(median_ms "$OUT/check_300.json" 0)
"$KEYWARD" check --format json --workspace "$W/Environments" > "$W/out.json" || true
found=$(python3 - "$W/out.json" "$W/expected.json" <<'PY'
import json, sys
findings = json.load(open(sys.argv[1]))["findings"]
expected = json.load(open(sys.argv[2]))
got = {(f["finding_id"], f.get("environment")) for f in findings}
missing = [e for e in expected if (e[0], e[1]) not in got]
errors = [f for f in findings if f["severity"] == "error"]
print(f"{len(expected) - len(missing)}/{len(expected)} planted problems found; {len(findings)} findings, {len(errors)} errors; missing: {missing}")
sys.exit(1 if missing else 0)
PY
) && planted=1 || planted=0
machine
echo "keyward check --format json, 300 environments x 3 sets: median $ms ms; $found"
check "check median (ms)" "$ms" "<=" 200
check "every planted problem found (1 = yes)" "$planted" "==" 1
exit $FAILED
