# Shared helpers for the benchmark scripts. Source it; do not run it.
# Benchmarks time whole commands with hyperfine on a release build with a static Swift runtime,
# print medians and ratios, and exit non-zero when a target is missed. They are not part of
# `swift test`: timing belongs to whole processes, not to unit tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$ROOT/Tests/Benchmarks/out"
mkdir -p "$OUT"

need() {  # need COMMAND DEBIAN-PACKAGE
  command -v "$1" >/dev/null 2>&1 && return
  local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "$2" >/dev/null
}

build_release() {
  need hyperfine hyperfine
  need /usr/bin/time time
  # KEYWARD_PREBUILT=DIR: time the keyward already built there (no build: one Swift build at a time).
  if [ -n "${KEYWARD_PREBUILT:-}" ]; then KEYWARD="$KEYWARD_PREBUILT/keyward"; return; fi
  (cd "$ROOT" && swift build -c release --static-swift-stdlib --disable-local-rpath >/dev/null)
  KEYWARD="$ROOT/.build/release/keyward"
}

# median_ms FILE.json INDEX — the median of command INDEX in a hyperfine --export-json file, in ms.
median_ms() {
  python3 -c "import json,sys; print('%.3f' % (json.load(open(sys.argv[1]))['results'][int(sys.argv[2])]['median']*1000))" "$1" "$2"
}

# peak_rss_mb CMD… — peak resident set size of one run, in MB.
peak_rss_mb() {
  /usr/bin/time -f '%M' -o "$OUT/rss.txt" "$@" >/dev/null 2>&1
  python3 -c "print('%.1f' % (int(open('$OUT/rss.txt').read().split()[-1]) / 1024))"
}

machine() {
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr), $(swift --version 2>/dev/null | head -1)"
}

# check NAME VALUE OP LIMIT — prints PASS/FAIL and records failures.
FAILED=0
check() {
  if python3 -c "import sys; sys.exit(0 if float('$2') $3 float('$4') else 1)"; then
    echo "PASS  $1: $2 $3 $4"
  else
    echo "FAIL  $1: $2 (target $3 $4)"; FAILED=1
  fi
}

# rounds NAME CMD_A CMD_B — seven alternating hyperfine rounds of CMD_A against CMD_B; prints each
# round and sets RATIO to the median of the per-round ratios of medians (A / B), so that one noisy
# stretch of the machine does not decide the result (Go's runtime, in age, is sensitive to
# scheduling on 2 cores).
rounds() {
  local name="$1" a="$2" b="$3" ratios=() round ma mb r
  for round in 1 2 3 4 5 6 7; do
    hyperfine -N --warmup 10 --runs 60 --export-json "$OUT/$name.$round.json" "$a" "$b" >/dev/null 2>&1
    ma=$(median_ms "$OUT/$name.$round.json" 0); mb=$(median_ms "$OUT/$name.$round.json" 1)
    r=$(python3 -c "print('%.3f' % ($ma / $mb))")
    echo "round $round: $ma ms vs $mb ms, ratio $r"
    ratios+=("$r")
  done
  RATIO=$(python3 -c "import statistics,sys; print('%.2f' % statistics.median(map(float, sys.argv[1:])))" "${ratios[@]}")
}
