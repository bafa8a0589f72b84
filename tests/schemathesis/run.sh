#!/usr/bin/env bash
# Schemathesis against a running stack: every operation of its OpenAPI document, a few examples
# each, as the demo tenant Apex's admin (its rate limits raised for the run) or, for the operations
# only platform roles may call (`x-permission` ending in `:all`), the platform's super admin; the
# channel webhooks
# with correctly signed bodies (hooks.py). Fails on a server error, an undocumented status or content
# type, or a response its schema forbids.
#
#   tests/schemathesis/run.sh VENV BASE_URL DEMO_FILE [MAX_EXAMPLES]
set -euo pipefail
VENV=$1 BASE=$2 DEMO=$3 EXAMPLES=${4:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
login() {
  curl -sf "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"$2\"}" | jq -r .access_token
}
TOKEN=$(login admin@apex-regen.example "demo apex admin passphrase")
PLATFORM_TOKEN=$(login superadmin@regen-gateway.example "demo super admin passphrase")
SETTINGS_TOKEN=$(login admin@northwind.example "demo northwind admin passphrase")
for token in "$TOKEN" "$PLATFORM_TOKEN"; do
  for key in rate_limit.read_per_minute rate_limit.write_per_minute; do
    curl -sf -X PUT "$BASE/api/v1/settings/$key" -H "authorization: Bearer $token" \
      -H 'content-type: application/json' -d '{"value":100000}' >/dev/null
  done
done
export TOKEN PLATFORM_TOKEN SETTINGS_TOKEN
cd "$HERE"
rc=0
DEMO_FILE=$DEMO FIXTURES=${FIXTURES:-$HERE/../../../shared/fixtures} SCHEMATHESIS_HOOKS=hooks PYTHONPATH=. \
  "$VENV/bin/st" run "$BASE/api/v1/openapi.json" --url "$BASE" \
  -c not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  -n "$EXAMPLES" --generation-deterministic --workers 1 --no-color \
  --exclude-path-regex '/auth/(logout|switch-tenant)$|/auth/sessions/\{id\}$' || rc=$?
# Whether the tenant admin's session outlived the run (a setting that ends it would leave every
# later operation answering 401, which schemathesis only warns about).
echo "after the run, the tenant admin's token: $(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/v1/auth/me" -H "authorization: Bearer $TOKEN")"
exit $rc
