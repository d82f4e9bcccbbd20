#!/usr/bin/env bash
# Issue 12 benchmark: `access list --format json` and offline `check --format json` over a trusted
# workspace of 300 environments x 3 sets with 20 members each, written by independent generators
# (gen_workspace.py, then gen_trust.py from FORMAT.md). The machine has no pin: the root is given
# as KEYWARD_TRUST, so every signature is checked (root, state, 300 activation manifests).
# Target: <= 200 ms each.
source "$(dirname "$0")/lib.sh"
build_release
python3 -c 'import nacl' 2>/dev/null || python3 -m pip install -q pynacl
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
mkdir -m 700 "$W/keys"
export KEYWARD_KEYS_DIR="$W/keys" NO_COLOR=1
python3 "$(dirname "$0")/gen_workspace.py" "$W/Environments" 300 3 --keys "$W/keys"
ROOT=$(python3 "$(dirname "$0")/gen_trust.py" "$W/Environments" "$W/keys" 20)
export KEYWARD_TRUST="$ROOT"
"$KEYWARD" access list --format json --workspace "$W/Environments" > "$W/access.json"
# (schema 2: `environments` is a list of objects, each naming its environment)
python3 -c "import json,sys; d=json.load(open('$W/access.json')); e=d['environments']; assert len(e)==300 and all(len(x['members'])==20 for x in e)"
hyperfine -N -i --warmup 3 --runs 30 --export-json "$OUT/access_300.json" \
  "$KEYWARD access list --format json --workspace $W/Environments" \
  "$KEYWARD check --format json --workspace $W/Environments" >/dev/null
access=$(median_ms "$OUT/access_300.json" 0)
check_ms=$(median_ms "$OUT/access_300.json" 1)
rss=$(peak_rss_mb "$KEYWARD" check --format json --workspace "$W/Environments")
machine
echo "300 environments x 3 sets x 20 members, trusted: access list $access ms, check $check_ms ms (peak RSS $rss MB)"
check "access list median (ms)" "$access" "<=" 200
check "check median (ms)" "$check_ms" "<=" 200
exit $FAILED
