"""Schemathesis hooks for scripts/test: the channel webhooks get correctly signed bodies (the
fixtures, signed with the demo channels' secrets), so their handlers are exercised past the
signature check instead of answering 401 to everything; the operations only platform roles may
call (their `x-permission` ends in `:all`) are called with the platform super admin's token, so
they are exercised past the permission check instead of answering 403."""
import base64
import hashlib
import hmac
import json
import os

import schemathesis

DEMO = json.load(open(os.environ["DEMO_FILE"], encoding="utf-8"))
FIXTURES = os.environ["FIXTURES"]
APEX = next(t for t in DEMO["tenants"] if t["slug"] == "apex-regen-clinic")
HOOKS = {
    "shopify": ("shopify-orders-create.json", "x-shopify-hmac-sha256", {"x-shopify-topic": "orders/create"}),
    "woocommerce": ("woocommerce-order.json", "x-wc-webhook-signature", {"x-wc-webhook-topic": "order.created"}),
}


TOKENS = {"tenant": os.environ["TOKEN"], "platform": os.environ["PLATFORM_TOKEN"], "settings": os.environ["SETTINGS_TOKEN"]}
# Operations that change how the caller's own tenant signs in (MFA required for its role, a one-minute
# idle timeout, a rate limit of 1, an identity provider) run as another tenant's admin (Northwind's),
# so Apex's session lives through the run and every later operation is exercised past the 401.
SIGN_IN_CHANGERS = {"/api/v1/settings/{key}", "/api/v1/sso/providers/{name}"}


@schemathesis.hook
def before_call(context, case, kwargs):
    if str(case.operation.definition.raw.get("x-permission", "")).endswith(":all"):
        who = "platform"
    elif case.path in SIGN_IN_CHANGERS and case.method.upper() == "PUT":
        who = "settings"
    else:
        who = "tenant"
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {TOKENS[who]}"}
    for kind, (fixture, header, extra) in HOOKS.items():
        if case.path == f"/api/v1/webhooks/{kind}/{{id}}":
            channel = APEX["channels"][kind]
            case.path_parameters = {"id": channel["webhook_url"].rstrip("/").rsplit("/", 1)[1]}
            body = json.load(open(os.path.join(FIXTURES, fixture), encoding="utf-8"))
            case.body = body
            raw = json.dumps(body, allow_nan=False).encode()
            sig = base64.b64encode(hmac.new(channel["secret"].encode(), raw, hashlib.sha256).digest()).decode()
            case.headers = {**(case.headers or {}), **extra, header: sig, "content-type": "application/json"}
            # The exact bytes signed are the bytes sent.
            for key in ("json", "data", "content"):
                kwargs.pop(key, None)
            kwargs["data"] = raw
