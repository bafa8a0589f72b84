#!/usr/bin/env python3
"""Holds every answer the integration suite recorded (GATEWAY_RECORD_RESPONSES) against the OpenAPI
document: for a documented route and method, the status must be documented, its content type too,
and a JSON body must satisfy the documented schema. Answers of routes the document does not have
(the suite's own test routers) are not judged.

Usage: check_responses.py OPENAPI_JSON RECORD_DIR   (run with a Python that has jsonschema_rs)"""
import json
import os
import re
import sys

import jsonschema_rs

doc = json.load(open(sys.argv[1]))
templates = []
for path, item in doc["paths"].items():
    pattern = re.compile("^" + "/".join("[^/]+" if seg.startswith("{") else re.escape(seg) for seg in path.split("/")) + "$")
    templates.append((path.count("{"), pattern, path, item))
templates.sort(key=lambda t: t[0])
validators = {}


def validator(schema):
    key = json.dumps(schema, sort_keys=True)
    if key not in validators:
        validators[key] = jsonschema_rs.validator_for({**schema, "components": doc["components"]})
    return validators[key]


seen, failures, judged = set(), [], 0
for name in sorted(os.listdir(sys.argv[2])):
    for line in open(os.path.join(sys.argv[2], name), encoding="utf-8"):
        r = json.loads(line)
        match = next(((p, item) for _, pat, p, item in templates if pat.match(r["path"])), None)
        if match is None or r["method"].lower() not in match[1]:
            continue
        # A router that serves only some routes (one function's) answers the others itself.
        if isinstance(r["body"], dict) and r["body"].get("code") in ("route_not_found", "method_not_allowed"):
            continue
        path, item = match
        op = item[r["method"].lower()]
        judged += 1
        status = str(r["status"])
        where = f'{r["method"]} {path} → {status}'
        response = op["responses"].get(status) or op["responses"].get("default")
        problem = None
        if response is None:
            problem = f"undocumented status (documented: {', '.join(op['responses'])})"
        else:
            content = response.get("content") or {}
            media = r["content_type"].split(";")[0].strip()
            if content and media and media not in content:
                problem = f"content type {media} undocumented ({', '.join(content)})"
            elif media.endswith("json") and content.get(media, {}).get("schema"):
                errors = list(validator(content[media]["schema"]).iter_errors(r["body"]))
                if errors:
                    problem = f"body violates its schema: {errors[0]}"[:400]
        if problem and (where, problem) not in seen:
            seen.add((where, problem))
            failures.append(f"{where}: {problem}")
print(f"responses: {judged} answers of documented routes judged, {len(failures)} distinct mismatches")
for f in failures:
    print(f"  {f}")
sys.exit(1 if failures else 0)
