#!/usr/bin/env python3
"""Drives a command on a real pseudo-terminal, as a person at a keyboard would.

usage: pty_session.py SCRIPT.json
SCRIPT: {"argv": [...], "cwd": DIR, "env": {...}, "steps": [[EXPECT, SEND], ...]}
For each step, waits (up to 10 s) until EXPECT has appeared in the terminal's output, then types
SEND. Prints {"status": EXIT, "output": EVERYTHING THE TERMINAL SHOWED} as JSON.
"""
import json, os, pty, select, sys, time

def main():
    script = json.load(open(sys.argv[1]))
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(script["cwd"])
        os.execve(script["argv"][0], script["argv"], script["env"])
    out = b""
    def read_some(timeout):
        nonlocal out
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            return False
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return None
        if not chunk:
            return None
        out += chunk
        return True
    for expect, send in script["steps"]:
        deadline = time.time() + 10
        while expect.encode() not in out and time.time() < deadline:
            if read_some(0.2) is None:
                break
        time.sleep(0.1)  # the prompt is written before the terminal mode is set: let it settle
        os.write(fd, send.encode())
    while read_some(5):
        pass
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"status": os.waitstatus_to_exitcode(status), "output": out.decode("utf-8", "replace")}))

main()
