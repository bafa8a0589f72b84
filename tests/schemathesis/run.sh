#!/usr/bin/env bash
# Schemathesis against a running stack: every operation of its OpenAPI document, a few examples
# each, as the demo tenant Apex's admin (its rate limits raised for the run), the channel webhooks
# with correctly signed bodies (hooks.py). Fails on a server error, an undocumented status or content
# type, or a response its schema forbids.
#
#   tests/schemathesis/run.sh VENV BASE_URL DEMO_FILE [MAX_EXAMPLES]
set -euo pipefail
VENV=$1 BASE=$2 DEMO=$3 EXAMPLES=${4:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
login() {
  curl -sf "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"email":"admin@apex-regen.example","password":"demo apex admin passphrase"}' | jq -r .access_token
}
TOKEN=$(login)
for key in rate_limit.read_per_minute rate_limit.write_per_minute; do
  curl -sf -X PUT "$BASE/api/v1/settings/$key" -H "authorization: Bearer $TOKEN" \
    -H 'content-type: application/json' -d '{"value":100000}' >/dev/null
done
cd "$HERE"
DEMO_FILE=$DEMO FIXTURES=${FIXTURES:-$HERE/../../../shared/fixtures} SCHEMATHESIS_HOOKS=hooks PYTHONPATH=. \
  "$VENV/bin/st" run "$BASE/api/v1/openapi.json" --url "$BASE" -H "Authorization: Bearer $TOKEN" \
  -c not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  -n "$EXAMPLES" --generation-deterministic --workers 1 --no-color \
  --exclude-path-regex '/auth/(logout|switch-tenant)$|/auth/sessions/\{id\}$'
