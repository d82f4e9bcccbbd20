#!/usr/bin/env python3
"""Times whole commands in turn: run 1 of every command, then run 2 of every command, and so on,
so that each command meets the same phases of a shared machine (on this kind of machine, a
stretch of a few seconds can be 1.3 times slower than the next; timed one after the other, one
command met a slow stretch and another a fast one). MEASURED.md's ratios are taken the same way
("run in turn").

Reads a JSON document on standard input:
  {"runs": N, "warmup": W, "commands": [{"name": "...", "argv": [...], "env": {...},
   "prepare": [...]?}]}
`env` is added to this process's environment; `prepare`, when given, runs (untimed) before each
run of its command. Each run is timed from the spawn to the wait's return, as hyperfine -N does;
standard output and error go to /dev/null. A run that fails stops everything (exit 1).

Writes a JSON document: {"<name>": {"median_ms": m, "times_ms": [...]}, ...,
"ratios": {"<a>/<b>": the median over the turns of run i of a / run i of b, for every pair}}.
"""
import json
import os
import statistics
import sys
import time


def spawn(argv, env):
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        actions = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
        start = time.perf_counter_ns()
        pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
        _, status = os.waitpid(pid, 0)
        elapsed = time.perf_counter_ns() - start
    finally:
        os.close(devnull)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"in_turn.py: {' '.join(argv)} exited {os.waitstatus_to_exitcode(status)}")
    return elapsed / 1e6


def main():
    spec = json.load(sys.stdin)
    commands = spec["commands"]
    envs = [dict(os.environ, **c.get("env", {})) for c in commands]
    times = [[] for _ in commands]
    for turn in range(spec.get("warmup", 1) + spec["runs"]):
        for k, c in enumerate(commands):
            if c.get("prepare"):
                spawn(c["prepare"], envs[k])
            t = spawn(c["argv"], envs[k])
            if turn >= spec.get("warmup", 1):
                times[k].append(t)
    out = {c["name"]: {"median_ms": statistics.median(times[k]), "times_ms": times[k]} for k, c in enumerate(commands)}
    out["ratios"] = {
        f"{a['name']}/{b['name']}": statistics.median(x / y for x, y in zip(times[i], times[j]))
        for i, a in enumerate(commands)
        for j, b in enumerate(commands)
        if i != j
    }
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
