#!/usr/bin/env bash
# Issue 5 benchmark: `keyward csp eval` batch over 100,000 JSON query lines on one core (taskset).
# Targets: >= 100,000 evaluations per second (whole process: start, parse, evaluate, write);
# peak RSS <= 64 MB.
source "$(dirname "$0")/lib.sh"
build_release
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
python3 "$(dirname "$0")/gen_csp_queries.py" 100000 > "$W/queries.jsonl"
# Through a shell for the redirections (hyperfine subtracts the shell's own start-up).
hyperfine --warmup 1 --runs 7 --export-json "$OUT/csp_eval.json" \
  "taskset -c 0 $KEYWARD csp eval < $W/queries.jsonl > /dev/null" >/dev/null
ms=$(median_ms "$OUT/csp_eval.json" 0)
rate=$(python3 -c "print('%.0f' % (100000 / ($ms / 1000)))")
/usr/bin/time -f '%M' -o "$OUT/rss.txt" taskset -c 0 "$KEYWARD" csp eval < "$W/queries.jsonl" > "$W/answers.jsonl"
rss=$(python3 -c "print('%.1f' % (int(open('$OUT/rss.txt').read().split()[-1]) / 1024))")
lines=$(wc -l < "$W/answers.jsonl")
errors=$(grep -c '"error"' "$W/answers.jsonl" || true)
machine
echo "keyward csp eval, 100,000 queries on one core: median $ms ms = $rate evaluations/s, peak RSS $rss MB ($lines answers, $errors errors)"
check "answers" "$lines" "==" 100000
check "error answers" "$errors" "==" 0
check "evaluations per second" "$rate" ">=" 100000
check "peak RSS (MB)" "$rss" "<=" 64
exit $FAILED
