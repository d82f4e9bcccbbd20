#!/usr/bin/env python3
"""Reads files written by `keyward export` with the real consumers of each format.

usage: read_exports.py MANIFEST.json
MANIFEST: [{"path": ..., "format": ..., "names": [VAR, ...]}, ...]
Prints {path: {reader: {VAR: value} | {"error": message}}} as JSON. Every reader of a file must
agree with the value keyward stored; the Swift test compares.

Readers: python-dotenv and Node's built-in --env-file (dotenv); bash `source`, bash `eval` and
dash `.` (shell); json; PyYAML plus base64 (k8s). For docker, GitHub and systemd no consumer
runs here (no Docker engine, no Actions runner, no systemd as PID 1): their readers follow the
consumers' documented parsing (moby's opts/envfile.go; the runner's file-command parser;
systemd.exec(5) EnvironmentFile=).
"""
import base64, json, os, shutil, subprocess, sys


def dotenv_python(path, names):
    from dotenv import dotenv_values
    values = dotenv_values(path)
    return {n: values.get(n) for n in names}


def dotenv_node(path, names):
    script = "process.stdout.write(JSON.stringify(Object.fromEntries(%s.map(n => [n, process.env[n] ?? null]))))" % json.dumps(names)
    out = subprocess.run(["node", "--env-file=" + path, "-e", script], capture_output=True, check=True, env={"PATH": os.environ["PATH"]})
    return json.loads(out.stdout)


def shell(path, names, how):
    printf = 'printf "%s\\0" ' + " ".join('"${%s}"' % n for n in names)
    scripts = {
        "bash-source": ("bash", 'set -e; source "$1"; ' + printf),
        "bash-eval": ("bash", 'set -e; eval "$(cat "$1")"; ' + printf),
        "dash-source": ("sh", 'set -e; . "$1"; ' + printf),
    }
    interp, script = scripts[how]
    out = subprocess.run([interp, "-c", script, "_", path], capture_output=True, check=True, env={"PATH": os.environ["PATH"]})
    parts = out.stdout.split(b"\0")[: len(names)]
    return {n: p.decode("utf-8") for n, p in zip(names, parts)}


def docker(path, names):
    # moby opts/envfile.go: bufio.ScanLines (a CR before LF is dropped), TrimLeft whitespace,
    # skip blank and '#' lines, split at the first '=', the value verbatim.
    values = {}
    text = open(path, "rb").read().decode("utf-8")
    for line in text.split("\n"):
        if line.endswith("\r"):
            line = line[:-1]
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep:
            continue
        if any(c.isspace() for c in name):
            raise ValueError("variable contains whitespace")
        values[name] = value
    return {n: values.get(n) for n in names}


def github(path, names):
    # The runner's file-command parser: lines end at LF (a CR before it is dropped); NAME=VALUE
    # when '=' comes before '<<', else NAME<<DELIM, then lines up to one equal to DELIM.
    text = open(path, "rb").read().decode("utf-8")
    values, index = {}, 0

    def read_line():
        nonlocal index
        if index >= len(text):
            return None, None
        end = text.find("\n", index)
        if end < 0:
            line, newline, index = text[index:], None, len(text)
            return line, newline
        newline = "\r\n" if end > index and text[end - 1] == "\r" else "\n"
        line = text[index : end - (1 if newline == "\r\n" else 0)]
        index = end + 1
        return line, newline

    while True:
        line, _ = read_line()
        if line is None:
            break
        if not line:
            continue
        eq, hd = line.find("="), line.find("<<")
        if eq >= 0 and (hd < 0 or eq < hd):
            name, value = line.split("=", 1)
            values[name] = value
        elif hd >= 0:
            name, delimiter = line.split("<<", 1)
            start = end = index
            while True:
                tmp, newline = read_line()
                if tmp is None:
                    raise ValueError("matching delimiter not found")
                if tmp == delimiter:
                    break
                if newline is None:
                    raise ValueError("EOF marker missing new line")
                end = index - len(newline)
            values[name] = text[start:end] if end > start else ""
        else:
            raise ValueError("invalid format")
    return {n: values.get(n) for n in names}


def k8s(path, names):
    import yaml
    doc = yaml.safe_load(open(path, encoding="utf-8"))
    assert doc["apiVersion"] == "v1" and doc["kind"] == "Secret" and doc["type"] == "Opaque"
    return {n: base64.b64decode(doc["data"][n], validate=True).decode("utf-8") for n in names}


def systemd(path, names):
    # systemd.exec(5) EnvironmentFile=: NAME=VALUE lines, '#' comments; in double quotes a
    # backslash escapes the next character.
    values = {}
    for raw in open(path, encoding="utf-8").read().split("\n"):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith(";"):
            continue
        name, _, rest = line.partition("=")
        assert rest.startswith('"') and rest.endswith('"'), "expected a double-quoted value"
        out, i, body = [], 0, rest[1:-1]
        while i < len(body):
            if body[i] == "\\" and i + 1 < len(body):
                out.append(body[i + 1]); i += 2
            else:
                out.append(body[i]); i += 1
        values[name.strip()] = "".join(out)
    return {n: values.get(n) for n in names}


READERS = {
    "dotenv": {"python-dotenv": dotenv_python, "node": dotenv_node},
    "shell": {h: (lambda p, n, h=h: shell(p, n, h)) for h in ("bash-source", "bash-eval", "dash-source")},
    "json": {"json": lambda p, n: {k: json.load(open(p, encoding="utf-8")).get(k) for k in n}},
    "docker": {"docker-envfile": docker},
    "github": {"actions-runner": github},
    "k8s": {"pyyaml": k8s},
    "systemd": {"systemd-exec": systemd},
}

if __name__ == "__main__":
    manifest = json.load(open(sys.argv[1]))
    result = {}
    for item in manifest:
        readers = dict(READERS[item["format"]])
        if item["format"] == "dotenv" and shutil.which("node") is None and "CI" not in os.environ:
            readers.pop("node")  # in CI a missing node is a failure, not a skip
        result[item["path"]] = {}
        for name, read in readers.items():
            try:
                result[item["path"]][name] = read(item["path"], item["names"])
            except Exception as e:  # reported, compared by the test
                result[item["path"]][name] = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(result, ensure_ascii=False))
