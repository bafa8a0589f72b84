#!/usr/bin/env python3
"""Holds every answer the integration suite recorded (GATEWAY_RECORD_RESPONSES) against the OpenAPI
document: for a documented route and method, the status must be documented, its content type too,
and a JSON body must satisfy the documented schema. Answers of routes the document does not have
(the suite's own test routers) are not judged.

Usage: check_responses.py OPENAPI_JSON RECORD_DIR   (run with a Python that has jsonschema_rs)"""
import json
import os
import sys

from openapi_doc import Document

document = Document(sys.argv[1])
doc, validator = document.doc, document.validator


seen, failures, judged = set(), [], 0
for name in sorted(os.listdir(sys.argv[2])):
    for line in open(os.path.join(sys.argv[2], name), encoding="utf-8"):
        r = json.loads(line)
        match = document.operation(r["method"], r["path"])
        if match is None:
            continue
        # A router that serves only some routes (one function's) answers the others itself.
        if isinstance(r["body"], dict) and r["body"].get("code") in ("route_not_found", "method_not_allowed"):
            continue
        path, op = match
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
# Every operation shows an example of its JSON request and of its JSON success answer, and every
# example satisfies its schema (scripts/lib/examples.py takes them from the suite's exchanges).
missing, examples = [], 0
for path, item in doc["paths"].items():
    for method, op in item.items():
        if method not in ("get", "put", "post", "delete", "patch"):
            continue
        shown = []
        body = (op.get("requestBody") or {}).get("content", {}).get("application/json")
        if body is not None:
            shown.append(("request", body))
        for status, response in op["responses"].items():
            content = (response.get("content") or {}).get("application/json")
            if status.startswith("2") and content is not None and content.get("schema"):
                shown.append((f"{status} answer", content))
        for what, content in shown:
            where = f"{method.upper()} {path} {what}"
            if "example" not in content and not content.get("examples"):
                missing.append(where)
                continue
            examples += 1
            errors = list(validator(content["schema"]).iter_errors(content.get("example"))) if content.get("schema") else []
            if errors:
                failures.append(f"{where}: the example violates its schema: {errors[0]}"[:400])
print(f"examples: {examples} shown, {len(missing)} missing")
for m in missing:
    print(f"  no example: {m}")
if missing:
    failures.append(f"{len(missing)} examples missing (UPDATE_EXAMPLES=1 scripts/test takes them from the suite)")
print(f"responses: {judged} answers of documented routes judged, {len(failures)} distinct mismatches")
for f in failures:
    print(f"  {f}")
sys.exit(1 if failures else 0)
