#!/usr/bin/env python3
"""Validates keyward's JSON documents against the schemas in Sources/keyward-cli/Schemas
(JSON Schema 2020-12, with the `jsonschema` package).

  json_schemas.py SCHEMA FILE      validate one document (exit 0 valid, 1 not, with the reasons)
  json_schemas.py --serve          the test harness's coprocess: reads requests from stdin, each
                                   a line with the schema's name and the document's byte count,
                                   then the bytes; answers each with one line, "ok" or the reasons
                                   (newlines escaped); documents with a top-level "error" member
                                   are held to error.schema.json whatever the command.
  json_schemas.py --check          every schema is itself valid and every $ref resolves

csp-eval documents are JSON Lines: each line is validated on its own.
"""
import json
import os
import sys

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

HERE = os.path.dirname(os.path.abspath(__file__))
FOLDER = os.path.join(HERE, "..", "..", "Sources", "keyward-cli", "Schemas")


def load():
    schemas = {}
    for name in sorted(os.listdir(FOLDER)):
        if name.endswith(".schema.json"):
            with open(os.path.join(FOLDER, name)) as f:
                schemas[name[: -len(".schema.json")]] = json.load(f)
    registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas.values())
    return schemas, registry


SCHEMAS, REGISTRY = load()
VALIDATORS = {n: Draft202012Validator(s, registry=REGISTRY) for n, s in SCHEMAS.items()}


def problems(schema, text):
    """The reasons `text` is not a valid document of `schema` (empty: valid)."""
    docs = [text]
    lines = False
    if schema == "csp-eval":
        # JSON Lines, unless the whole output is one (pretty-printed) document: an error.
        try:
            json.loads(text)
        except ValueError:
            docs = text.splitlines()
            lines = True
    out = []
    for i, raw in enumerate(docs):
        if lines and not raw.strip():
            continue
        try:
            doc = json.loads(raw)
        except ValueError as e:
            out.append(f"not JSON ({e}): {raw[:200]!r}")
            continue
        # A failure's document is the error document, whatever the command (a line of csp eval's
        # output carries its own error instead).
        is_error = isinstance(doc, dict) and isinstance(doc.get("error"), dict) and "exit_code" in doc["error"]
        use = "error" if is_error and not lines else schema
        if use not in VALIDATORS:
            return [f"no schema named {use!r} in {FOLDER}"]
        for err in sorted(VALIDATORS[use].iter_errors(doc), key=lambda e: list(e.absolute_path)):
            # Of the alternatives of an anyOf, the one that came closest says what is wrong.
            while err.context:
                err = best_match(err.context)
            where = "/".join(str(p) for p in err.absolute_path) or "(top)"
            prefix = f"line {i + 1}: " if lines else ""
            out.append(f"{prefix}{use}.schema.json at {where}: {err.message[:300]}")
    return out


def serve():
    stdin = sys.stdin.buffer
    while True:
        header = stdin.readline()
        if not header:
            return
        name, size = header.decode().split()
        body = stdin.read(int(size)).decode("utf-8", "replace")
        found = problems(name, body)
        if found:
            # The document, for whoever reads the failure.
            import tempfile
            fd, path = tempfile.mkstemp(prefix=f"keyward-{name}-", suffix=".json")
            os.write(fd, body.encode())
            os.close(fd)
            found.append(f"(the document: {path})")
        sys.stdout.write(("ok" if not found else " | ".join(found).replace("\n", " ")) + "\n")
        sys.stdout.flush()


def check():
    bad = 0
    for name, schema in SCHEMAS.items():
        Draft202012Validator.check_schema(schema)
        # Resolve every $ref once.
        def walk(node, resolver):
            nonlocal bad
            if isinstance(node, dict):
                if "$ref" in node:
                    try:
                        resolver.lookup(node["$ref"])
                    except Exception as e:  # noqa: BLE001
                        print(f"{name}: unresolved $ref {node['$ref']}: {e}")
                        bad += 1
                for v in node.values():
                    walk(v, resolver)
            elif isinstance(node, list):
                for v in node:
                    walk(v, resolver)
        walk(schema, REGISTRY.resolver(base_uri=schema["$id"]))
    print(f"{len(SCHEMAS)} schemas checked, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    elif sys.argv[1:] == ["--check"]:
        sys.exit(check())
    elif len(sys.argv) == 3:
        with open(sys.argv[2]) as f:
            found = problems(sys.argv[1], f.read())
        print("\n".join(found) if found else "valid")
        sys.exit(1 if found else 0)
    else:
        sys.exit(__doc__)
