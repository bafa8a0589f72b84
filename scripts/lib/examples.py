#!/usr/bin/env python3
"""Takes the OpenAPI document's examples from real exchanges: for every operation, one answer of
real work the integration suite recorded (GATEWAY_RECORD_RESPONSES; a success, with the request
that produced it), lists cut to two items, credentials replaced by placeholders. Writes them to
shared/src/registry/examples.json, which the document merges (an annotation's own example wins).
`UPDATE_EXAMPLES=1 scripts/test` runs it after the suite (operations the run did not see keep
their examples); check_responses.py then holds every
example against its schema, so an example cannot outlive a change of shape.

Usage: examples.py OPENAPI_JSON RECORD_DIR OUT_JSON"""
import json
import os
import re
import sys

from openapi_doc import Document

document = Document(sys.argv[1])

SECRET_KEYS = re.compile(r"(^|_)(token|secret|password|codes)$", re.I)
API_KEY = re.compile(r"^rgk_")
JWT = re.compile(r"^eyJ[\w-]+\.[\w-]+\.[\w-]+$")


def clean(value, key=""):
    """Lists cut to two items; credentials and anything shaped like a token replaced."""
    if isinstance(value, dict) and key == "tokens":  # one-time payment tokens
        return {k: "<one-time token from the gateway's tokenization>" for k in value}
    if isinstance(value, dict):
        return {k: clean(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v, key) for v in value[:2]]
    if isinstance(value, str) and (JWT.match(value) or API_KEY.match(value) or (SECRET_KEYS.search(key) and len(value) > 12)):
        return value[:6] + "…(redacted)"
    return value


def empties(value):
    """How many empty lists and nulls an answer has: fuller answers make better examples."""
    if isinstance(value, dict):
        return sum(empties(v) for v in value.values())
    if isinstance(value, list):
        return 1 if not value else sum(empties(v) for v in value)
    return 1 if value is None else 0


def satisfies(content, value):
    """Whether `value` satisfies the schema of a documented content (no schema: anything does)."""
    schema = (content or {}).get("schema")
    return not schema or document.validator(schema).is_valid(value)


# Per operation: the request of its best exchange; per success status: the best answer. Best: it
# satisfies the documented schemas, then the fewest empty lists and nulls, then the shortest.
requests, answers = {}, {}
for name in sorted(os.listdir(sys.argv[2])):
    for line in open(os.path.join(sys.argv[2], name), encoding="utf-8"):
        r = json.loads(line)
        if not 200 <= r["status"] < 300:
            continue
        match = document.operation(r["method"], r["path"])
        if match is None or match[0].endswith("/openapi.json"):  # the document is not its own example
            continue
        op = match[1]
        key, status = f'{r["method"]} {match[0]}', str(r["status"])
        body, request = clean(r["body"]), clean(r.get("request"))
        response_content = (op["responses"].get(status, {}).get("content") or {}).get("application/json")
        if response_content is not None:
            score = (not satisfies(response_content, body), empties(body), len(json.dumps(body)), json.dumps(body, sort_keys=True))
            if (key, status) not in answers or score < answers[(key, status)][0]:
                answers[(key, status)] = (score, body)
        request_content = (op.get("requestBody") or {}).get("content", {}).get("application/json")
        if request_content is not None and isinstance(request, (dict, list)):
            score = (not satisfies(request_content, request), empties(request), len(json.dumps(request)), json.dumps(request, sort_keys=True))
            if key not in requests or score < requests[key][0]:
                requests[key] = (score, request)

# Operations this run did not see keep the examples they have (a filtered run updates only its own).
out = json.load(open(sys.argv[3], encoding="utf-8")) if os.path.exists(sys.argv[3]) else {}
for key, (_, request) in requests.items():
    out.setdefault(key, {})["request"] = request
for (key, status), (_, body) in answers.items():
    out.setdefault(key, {}).setdefault("responses", {})[status] = body
out = dict(sorted(out.items()))
with open(sys.argv[3], "w", encoding="utf-8") as f:
    json.dump(out, f, indent=1, ensure_ascii=False, sort_keys=True)
    f.write("\n")
print(f"examples: {len(out)} operations' examples written to {sys.argv[3]}")
