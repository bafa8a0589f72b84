#!/usr/bin/env python3
"""Self-test for tests/sandboxes/providers.py (standard library only).

Starts the sandboxes as a subprocess on free ports, parses the announce line and drives both
providers and every fault kind over real sockets.  Run:  python3 tests/sandboxes/selftest.py
"""

from __future__ import annotations

import http.client
import json
import os
import re
import select
import socket
import subprocess
import sys
import time
import traceback
import urllib.parse
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
PROVIDERS_PY = os.path.join(HERE, "providers.py")
NMI_KEY = "sandbox-nmi-security-key"
ANET_AUTH = {"name": "sandbox-authnet-login", "transactionKey": "sandbox-authnet-transaction-key"}
BOM = b"\xef\xbb\xbf"
NMI_FIELDS = ["response", "responsetext", "authcode", "transactionid", "avsresponse", "cvvresponse", "orderid",
              "type", "response_code"]

ANNOUNCE_RE = re.compile(
    r"^sandboxes listening control=(http://127\.0\.0\.1:\d+) nmi=(http://127\.0\.0\.1:\d+) "
    r"authorize_net=(http://127\.0\.0\.1:\d+)$")


class Sandbox:
    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, PROVIDERS_PY, "--nmi-port", "0", "--authorize-net-port", "0", "--control-port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        line = b""
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            r, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if r:
                ch = os.read(self.proc.stdout.fileno(), 1)
                if not ch:
                    break
                line += ch
        m = ANNOUNCE_RE.match(line.decode().strip())
        if not m:
            self.stop()
            raise RuntimeError(f"bad announce line: {line!r}")
        self.control, self.nmi, self.anet = m.groups()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def extra_stdout(self) -> bytes:
        r, _, _ = select.select([self.proc.stdout], [], [], 0)
        return os.read(self.proc.stdout.fileno(), 65536) if r else b""


SB: Sandbox


def request(base, method, path, body=b"", headers=None, timeout=5.0):
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, dict(resp.getheaders()), data
    finally:
        conn.close()


def ctl(method, path, obj=None):
    body = json.dumps(obj).encode() if obj is not None else b""
    status, _, data = request(SB.control, method, path, body, {"Content-Type": "application/json"})
    assert status == 200, (status, data)
    return json.loads(data)


def token(provider, last4="1111", brand="visa", exp="12/30"):
    return ctl("POST", "/_control/tokens", {"provider": provider, "last4": last4, "brand": brand, "exp": exp})["token"]


def ledger(provider=None, reference=None):
    q = {}
    if provider:
        q["provider"] = provider
    if reference is not None:
        q["reference"] = reference
    return ctl("GET", "/_control/ledger" + ("?" + urllib.parse.urlencode(q) if q else ""))


def nmi_raw(fields, path="/api/transact.php", timeout=5.0):
    body = urllib.parse.urlencode(fields).encode()
    return request(SB.nmi, "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"}, timeout)


def nmi(fields, key=NMI_KEY):
    f = {"security_key": key, **fields}
    status, headers, data = nmi_raw(f)
    assert status == 200, status
    assert headers.get("Content-Type", "").startswith("text/html"), headers
    text = data.decode()
    pairs = urllib.parse.parse_qsl(text, keep_blank_values=True)
    keys = [k for k, _ in pairs]
    assert keys[:9] == NMI_FIELDS, keys
    return dict(pairs), text


def nmi_query(fields, key=NMI_KEY):
    status, headers, data = nmi_raw({"security_key": key, **fields}, path="/api/query.php")
    assert status == 200
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<nm_response>'), data[:80]
    return ET.fromstring(data)


def anet_raw(obj, timeout=5.0):
    body = obj if isinstance(obj, (bytes, str)) else json.dumps(obj)
    if isinstance(body, str):
        body = body.encode()
    return request(SB.anet, "POST", "/xml/v1/request.api", body, {"Content-Type": "application/json"}, timeout)


def anet(obj):
    status, headers, data = anet_raw(obj)
    assert status == 200, status
    assert headers.get("Content-Type") == "application/json; charset=utf-8", headers
    assert data.startswith(BOM), data[:10]
    return json.loads(data[len(BOM):])


def anet_charge(ttype, amount, tok=None, invoice=None, zip_code="10001", settings=None, ref_id=None, profile=None):
    tr = {"transactionType": ttype, "amount": amount}
    if tok is not None:
        tr["payment"] = {"opaqueData": {"dataDescriptor": "COMMON.ACCEPT.INAPP.PAYMENT", "dataValue": tok}}
    if profile is not None:
        tr["profile"] = {"customerProfileId": profile[0], "paymentProfile": {"paymentProfileId": profile[1]}}
    if invoice is not None:
        tr["order"] = {"invoiceNumber": invoice, "description": "selftest"}
    tr["billTo"] = {"firstName": "Ada", "lastName": "Lovelace", "zip": zip_code}
    if settings:
        tr["transactionSettings"] = {"setting": [{"settingName": k, "settingValue": v} for k, v in settings.items()]}
    req = {"merchantAuthentication": ANET_AUTH}
    if ref_id:
        req["refId"] = ref_id
    req["transactionRequest"] = tr
    return anet({"createTransactionRequest": req})


def anet_follow(ttype, ref, amount=None, last4=None):
    tr = {"transactionType": ttype}
    if amount is not None:
        tr["amount"] = amount
    if last4 is not None:
        tr["payment"] = {"creditCard": {"cardNumber": last4, "expirationDate": "XXXX"}}
    tr["refTransId"] = ref
    return anet({"createTransactionRequest": {"merchantAuthentication": ANET_AUTH, "transactionRequest": tr}})


def anet_details(tid):
    return anet({"getTransactionDetailsRequest": {"merchantAuthentication": ANET_AUTH, "transId": tid}})


def uniq(prefix):
    uniq.n += 1
    return f"{prefix}{int(time.time() * 1000) % 100000}{uniq.n}"


uniq.n = 0

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


# ============================================================================================
# NMI
# ============================================================================================


@test
def nmi_bad_key_and_card_data():
    r, _ = nmi({"type": "sale", "amount": "10.00", "orderid": "x1", "payment_token": "whatever"}, key="nope")
    assert (r["response"], r["responsetext"], r["response_code"]) == ("3", "Authentication Failed", "300"), r
    r, _ = nmi({"type": "sale", "amount": "10.00", "orderid": "x1", "ccnumber": "4111111111111111", "ccexp": "1230"})
    assert r["response"] == "3" and r["response_code"] == "300", r
    assert "card data not accepted" in r["responsetext"], r
    r, _ = nmi({"type": "sale", "amount": "10.0.0", "orderid": "x1", "payment_token": token("nmi")})
    assert r["response"] == "3" and r["response_code"] == "300", r
    assert ledger("nmi", "x1")["transactions"] == []


@test
def nmi_sale_and_exact_body():
    oid = uniq("ns")
    r, text = nmi({"type": "sale", "amount": "10.00", "orderid": oid, "payment_token": token("nmi")})
    assert text.startswith("response=1&responsetext=SUCCESS&authcode=123456&transactionid="), text
    assert text.endswith(f"&avsresponse=&cvvresponse=&orderid={oid}&type=sale&response_code=100"), text
    t = ledger("nmi", oid)["transactions"]
    assert len(t) == 1 and t[0]["id"] == r["transactionid"], t
    assert (t[0]["amount"], t[0]["captured"], t[0]["state"], t[0]["payment"]) == (1000, 1000, "captured", "token")


@test
def nmi_auth_partial_capture():
    oid = uniq("na")
    r, _ = nmi({"type": "auth", "amount": "10.00", "orderid": oid, "payment_token": token("nmi")})
    assert r["response"] == "1" and r["type"] == "auth", r
    tid = r["transactionid"]
    assert ledger("nmi", oid)["transactions"][0]["state"] == "authorized"
    r, _ = nmi({"type": "capture", "transactionid": tid, "amount": "6.00"})
    assert r["response"] == "1" and r["transactionid"] == tid and r["type"] == "capture", r
    t = ledger("nmi", oid)["transactions"][0]
    assert (t["authorized"], t["captured"], t["state"]) == (1000, 600, "captured"), t
    r, _ = nmi({"type": "capture", "transactionid": tid, "amount": "1.00"})
    assert r["response"] == "3" and r["response_code"] == "300", r
    oid2 = uniq("na")
    r, _ = nmi({"type": "auth", "amount": "10.00", "orderid": oid2, "payment_token": token("nmi")})
    r, _ = nmi({"type": "capture", "transactionid": r["transactionid"], "amount": "10.01"})
    assert r["response"] == "3" and "exceeds the authorization amount" in r["responsetext"], r


@test
def nmi_void():
    oid = uniq("nv")
    r, _ = nmi({"type": "auth", "amount": "12.00", "orderid": oid, "payment_token": token("nmi")})
    tid = r["transactionid"]
    r, _ = nmi({"type": "void", "transactionid": tid})
    assert (r["response"], r["responsetext"], r["type"]) == ("1", "Transaction Void Successful", "void"), r
    r, _ = nmi({"type": "void", "transactionid": tid})
    assert r["response"] == "3" and r["response_code"] == "300" and "already been voided" in r["responsetext"], r
    assert ledger("nmi", oid)["transactions"][0]["state"] == "voided"
    # settled sale can't be voided
    oid2 = uniq("nv")
    r, _ = nmi({"type": "sale", "amount": "3.00", "orderid": oid2, "payment_token": token("nmi")})
    s = ctl("POST", "/_control/settle", {"provider": "nmi"})
    assert s["batch_id"] and s["transactions"] >= 1, s
    r, _ = nmi({"type": "void", "transactionid": r["transactionid"]})
    assert r["response"] == "3" and r["response_code"] == "300" and "settlement" in r["responsetext"], r
    t = ledger("nmi", oid2)["transactions"][0]
    assert t["state"] == "settled" and t["batch_id"] == s["batch_id"], t
    x = nmi_query({"order_id": oid2})
    assert x.find("transaction/condition").text == "complete"
    assert [a.find("action_type").text for a in x.findall("transaction/action")] == ["sale", "settle"]


@test
def nmi_refunds():
    oid = uniq("nr")
    r, _ = nmi({"type": "sale", "amount": "20.00", "orderid": oid, "payment_token": token("nmi")})
    tid = r["transactionid"]
    r1, _ = nmi({"type": "refund", "transactionid": tid, "amount": "5.00"})
    assert r1["response"] == "1" and r1["type"] == "refund" and r1["transactionid"] not in ("", tid), r1
    t = ledger("nmi", oid)["transactions"][0]
    assert (t["refunded"], t["state"], t["net"]) == (500, "partially_refunded", 1500), t
    r2, _ = nmi({"type": "refund", "transactionid": tid})  # no amount = the rest
    assert r2["response"] == "1", r2
    r3, _ = nmi({"type": "refund", "transactionid": tid, "amount": "0.01"})
    assert r3["response"] == "3" and "may not exceed" in r3["responsetext"], r3
    t = ledger("nmi", oid)["transactions"][0]
    assert (t["refunded"], t["state"], t["net"]) == (2000, "refunded", 0), t
    # refund of an uncaptured auth is refused
    r, _ = nmi({"type": "auth", "amount": "4.00", "orderid": uniq("nr"), "payment_token": token("nmi")})
    r, _ = nmi({"type": "refund", "transactionid": r["transactionid"]})
    assert r["response"] == "3" and r["response_code"] == "300", r
    x = nmi_query({"order_id": oid})
    acts = [a.find("action_type").text for a in x.findall("transaction/action")]
    assert acts == ["sale", "refund", "refund"], acts


@test
def nmi_vault():
    tok = token("nmi", last4="4242")
    r, text = nmi({"customer_vault": "add_customer", "payment_token": tok})
    assert (r["response"], r["responsetext"], r["response_code"]) == ("1", "Customer Added", "100"), r
    vid = r["customer_vault_id"]
    assert vid and text.endswith("&customer_vault_id=" + vid), text
    r, _ = nmi({"customer_vault": "add_customer", "payment_token": tok})
    assert (r["response"], r["responsetext"]) == ("3", "Invalid Payment Token"), r  # single use
    oid = uniq("nvault")
    r, _ = nmi({"type": "sale", "amount": "7.00", "orderid": oid, "customer_vault_id": vid})
    assert r["response"] == "1", r
    t = ledger("nmi", oid)["transactions"][0]
    assert (t["payment"], t["payment_ref"], t["last4"]) == ("vault", vid, "4242"), t
    r, _ = nmi({"customer_vault": "delete_customer", "customer_vault_id": vid})
    assert (r["response"], r["responsetext"]) == ("1", "Customer Deleted"), r
    r, _ = nmi({"type": "sale", "amount": "7.00", "orderid": uniq("nvault"), "customer_vault_id": vid})
    assert r["response"] == "3", r
    # vault add during a sale
    oid = uniq("nvault")
    r, _ = nmi({"customer_vault": "add_customer", "type": "sale", "amount": "2.00", "orderid": oid,
                "payment_token": token("nmi")})
    assert r["response"] == "1" and r["customer_vault_id"] and r["transactionid"], r


@test
def nmi_query_api():
    oid = uniq("nq")
    r, _ = nmi({"type": "auth", "amount": "9.99", "orderid": oid, "payment_token": token("nmi", last4="1881")})
    tid = r["transactionid"]
    for x in (nmi_query({"order_id": oid}), nmi_query({"transaction_id": tid})):
        txs = x.findall("transaction")
        assert len(txs) == 1
        t = txs[0]
        assert t.find("transaction_id").text == tid
        assert t.find("condition").text == "pending"
        assert t.find("order_id").text == oid
        assert t.find("transaction_type").text == "cc"
        assert t.find("currency").text == "USD"
        assert t.find("cc_number").text == "4xxxxxxxxxxx1881"
        a = t.find("action")
        assert a.find("amount").text == "9.99" and a.find("action_type").text == "auth"
        assert re.fullmatch(r"\d{14}", a.find("date").text) and a.find("success").text == "1"
        assert a.find("source").text == "api" and a.find("response_code").text == "100"
    nmi({"type": "capture", "transactionid": tid})
    assert nmi_query({"order_id": oid}).find("transaction/condition").text == "pendingsettlement"
    nmi({"type": "void", "transactionid": tid})
    assert nmi_query({"order_id": oid}).find("transaction/condition").text == "canceled"
    x = nmi_query({"order_id": "does-not-exist"})
    assert x.tag == "nm_response" and len(list(x)) == 0
    _, _, data = nmi_raw({"security_key": "wrong", "order_id": oid}, path="/api/query.php")
    x = ET.fromstring(data)
    assert x.find("error_response").text.startswith("Invalid Username/Password REFID:"), data


@test
def nmi_decline_trigger():
    oid = uniq("nd")
    r, _ = nmi({"type": "sale", "amount": "0.99", "orderid": oid, "payment_token": token("nmi")})
    assert (r["response"], r["responsetext"], r["response_code"]) == ("2", "DECLINE", "200"), r
    assert r["transactionid"]
    t = ledger("nmi", oid)["transactions"][0]
    assert (t["state"], t["captured"]) == ("declined", 0), t
    assert nmi_query({"order_id": oid}).find("transaction/condition").text == "failed"


@test
def nmi_duplicate_window():
    oid = uniq("ndup")
    r, _ = nmi({"type": "sale", "amount": "15.00", "orderid": oid, "payment_token": token("nmi")})
    assert r["response"] == "1"
    r, _ = nmi({"type": "sale", "amount": "15.00", "orderid": oid, "payment_token": token("nmi")})
    assert (r["response"], r["response_code"]) == ("3", "300"), r
    assert r["responsetext"].startswith("Duplicate transaction REFID:"), r
    assert len(ledger("nmi", oid)["transactions"]) == 1
    # dup_seconds=0 disables, different amount is not a dup
    r, _ = nmi({"type": "sale", "amount": "15.01", "orderid": oid, "payment_token": token("nmi")})
    assert r["response"] == "1", r
    ctl("POST", "/_control/clock", {"advance_seconds": 1201})
    r, _ = nmi({"type": "sale", "amount": "15.00", "orderid": oid, "payment_token": token("nmi")})
    assert r["response"] == "1", r
    r, _ = nmi({"type": "sale", "amount": "15.00", "orderid": oid, "dup_seconds": "0",
                "payment_token": token("nmi")})
    assert r["response"] == "1", r
    assert len(ledger("nmi", oid)["transactions"]) == 4


@test
def nmi_token_single_use_and_expiry():
    tok = token("nmi")
    r, _ = nmi({"type": "sale", "amount": "1.50", "orderid": uniq("nt"), "payment_token": tok})
    assert r["response"] == "1"
    r, _ = nmi({"type": "sale", "amount": "1.50", "orderid": uniq("nt"), "payment_token": tok})
    assert (r["response"], r["responsetext"], r["response_code"]) == ("3", "Invalid Payment Token", "300"), r
    tok = token("nmi")
    ctl("POST", "/_control/clock", {"advance_seconds": 15 * 60 + 1})
    r, _ = nmi({"type": "sale", "amount": "1.50", "orderid": uniq("nt"), "payment_token": tok})
    assert (r["response"], r["responsetext"]) == ("3", "Invalid Payment Token"), r
    r, _ = nmi({"type": "sale", "amount": "1.50", "orderid": uniq("nt"), "payment_token": token("authorize_net")})
    assert r["responsetext"] == "Invalid Payment Token", r


# ============================================================================================
# Authorize.net
# ============================================================================================


@test
def anet_bom_auth_and_schema_order():
    r = anet({"createTransactionRequest": {"merchantAuthentication": {"name": "x", "transactionKey": "y"},
                                           "transactionRequest": {"transactionType": "authCaptureTransaction",
                                                                  "amount": "5.00"}}})
    assert r["messages"]["resultCode"] == "Error" and r["messages"]["message"][0]["code"] == "E00007", r
    assert r["messages"]["message"][0]["text"] == "User authentication failed due to invalid authentication values."
    # out of order: amount before transactionType
    raw = ('{"createTransactionRequest":{"merchantAuthentication":{"name":"sandbox-authnet-login",'
           '"transactionKey":"sandbox-authnet-transaction-key"},"transactionRequest":{"amount":"5.00",'
           '"transactionType":"authCaptureTransaction"}}}')
    r = anet(raw)
    m = r["messages"]["message"][0]
    assert r["messages"]["resultCode"] == "Error" and m["code"] == "E00003", r
    assert ("The element 'transactionRequest' in namespace 'AnetApi/xml/v1/schema/AnetApiSchema.xsd' has invalid "
            "child element 'amount'") in m["text"], m
    assert "List of possible elements expected: 'transactionType'" in m["text"], m
    # order after billTo (schema says order comes before customer/billTo)
    raw = ('{"createTransactionRequest":{"merchantAuthentication":{"name":"sandbox-authnet-login",'
           '"transactionKey":"sandbox-authnet-transaction-key"},"transactionRequest":{"transactionType":'
           '"authCaptureTransaction","amount":"5.00","billTo":{"zip":"1"},"order":{"invoiceNumber":"o"}}}}')
    m = anet(raw)["messages"]["message"][0]
    assert m["code"] == "E00003" and "invalid child element 'order'" in m["text"], m
    # refId must come before transactionRequest
    raw = ('{"createTransactionRequest":{"merchantAuthentication":{"name":"a","transactionKey":"b"},'
           '"transactionRequest":{"transactionType":"voidTransaction"},"refId":"1"}}')
    m = anet(raw)["messages"]["message"][0]
    assert m["code"] == "E00003" and "invalid child element 'refId'" in m["text"], m
    # unknown root
    m = anet({"fooBarRequest": {"merchantAuthentication": ANET_AUTH}})["messages"]["message"][0]
    assert m["code"] == "E00003" and "fooBarRequest' element is not declared" in m["text"], m
    # malformed amount is a schema error
    r = anet_charge("authCaptureTransaction", "abc", token("authorize_net"))
    assert r["messages"]["message"][0]["code"] == "E00003", r


@test
def anet_sale_shape():
    inv = uniq("as")
    r = anet_charge("authCaptureTransaction", "10.00", token("authorize_net"), invoice=inv, ref_id="ref-1")
    assert list(r) == ["transactionResponse", "refId", "messages"], list(r)
    tr = r["transactionResponse"]
    assert list(tr)[:11] == ["responseCode", "authCode", "avsResultCode", "cvvResultCode", "cavvResultCode",
                             "transId", "refTransID", "transHash", "testRequest", "accountNumber", "accountType"], tr
    assert tr["responseCode"] == "1" and tr["accountNumber"] == "XXXX1111" and tr["accountType"] == "Visa", tr
    assert tr["testRequest"] == "0" and tr["transId"].isdigit() and len(tr["authCode"]) == 6, tr
    assert tr["messages"] == [{"code": "1", "description": "This transaction has been approved."}], tr
    assert r["refId"] == "ref-1"
    assert r["messages"] == {"resultCode": "Ok", "message": [{"code": "I00001", "text": "Successful."}]}, r
    t = ledger("authorize_net", inv)["transactions"]
    assert len(t) == 1 and (t[0]["captured"], t[0]["state"], t[0]["id"]) == (1000, "captured", tr["transId"]), t
    d = anet_details(tr["transId"])["transaction"]
    assert d["transactionStatus"] == "capturedPendingSettlement" and d["order"]["invoiceNumber"] == inv, d
    assert d["authAmount"] == 10.0 and d["payment"]["creditCard"]["cardNumber"] == "XXXX1111", d
    # settleAmount rendered as a JSON number with two decimals
    _, _, raw = anet_raw({"getTransactionDetailsRequest": {"merchantAuthentication": ANET_AUTH,
                                                            "transId": tr["transId"]}})
    assert b'"settleAmount":10.00' in raw, raw
    r = anet_details("123")
    assert r["messages"]["message"][0] == {"code": "E00040", "text": "The record cannot be found."}, r


@test
def anet_auth_capture_void():
    inv = uniq("aa")
    tr = anet_charge("authOnlyTransaction", "10.00", token("authorize_net"), invoice=inv)["transactionResponse"]
    tid = tr["transId"]
    assert anet_details(tid)["transaction"]["transactionStatus"] == "authorizedPendingCapture"
    c = anet_follow("priorAuthCaptureTransaction", tid, amount="6.00")["transactionResponse"]
    assert c["responseCode"] == "1" and c["refTransID"] == tid, c
    t = ledger("authorize_net", inv)["transactions"][0]
    assert (t["authorized"], t["captured"], t["state"]) == (1000, 600, "captured"), t
    c = anet_follow("priorAuthCaptureTransaction", tid)["transactionResponse"]
    assert c["messages"][0]["code"] == "311", c  # already captured: no second capture
    assert ledger("authorize_net", inv)["transactions"][0]["captured"] == 600
    tr = anet_charge("authOnlyTransaction", "10.00", token("authorize_net"), invoice=uniq("aa"))["transactionResponse"]
    c = anet_follow("priorAuthCaptureTransaction", tr["transId"], amount="10.01")
    assert c["transactionResponse"]["errors"][0]["errorCode"] == "47", c
    assert c["messages"]["message"][0]["code"] == "E00027"
    v = anet_follow("voidTransaction", tr["transId"])["transactionResponse"]
    assert v["responseCode"] == "1", v
    assert anet_details(tr["transId"])["transaction"]["transactionStatus"] == "voided"
    v = anet_follow("voidTransaction", tr["transId"])["transactionResponse"]
    assert v["messages"][0]["code"] == "310", v
    # settled -> void refused
    tr = anet_charge("authCaptureTransaction", "4.00", token("authorize_net"), invoice=uniq("aa"))["transactionResponse"]
    ctl("POST", "/_control/settle", {"provider": "authorize_net"})
    v = anet_follow("voidTransaction", tr["transId"])
    assert v["transactionResponse"]["responseCode"] == "3" and v["transactionResponse"]["errors"][0]["errorCode"] == "16"


@test
def anet_refunds():
    inv = uniq("ar")
    tr = anet_charge("authCaptureTransaction", "20.00", token("authorize_net"), invoice=inv)["transactionResponse"]
    tid = tr["transId"]
    r = anet_follow("refundTransaction", tid, amount="5.00", last4="XXXX1111")
    assert r["transactionResponse"]["responseCode"] == "3" and r["transactionResponse"]["errors"][0]["errorCode"] == "54"
    s = ctl("POST", "/_control/settle", {"provider": "authorize_net"})
    d = anet_details(tid)["transaction"]
    assert d["transactionStatus"] == "settledSuccessfully" and d["batch"]["batchId"] == s["batch_id"], d
    r = anet_follow("refundTransaction", tid, amount="5.00", last4="XXXX1111")["transactionResponse"]
    assert r["responseCode"] == "1" and r["refTransID"] == tid and r["transId"] != tid, r
    rid = r["transId"]
    assert anet_details(rid)["transaction"]["transactionStatus"] == "refundPendingSettlement"
    r = anet_follow("refundTransaction", tid, amount="15.00", last4="1111")["transactionResponse"]
    assert r["responseCode"] == "1", r
    r = anet_follow("refundTransaction", tid, amount="0.01", last4="1111")["transactionResponse"]
    assert r["errors"][0]["errorCode"] == "55", r
    r = anet_follow("refundTransaction", tid, amount="1.00", last4="4111111111111111")["transactionResponse"]
    assert r["responseCode"] == "3", r  # full card numbers are never accepted
    t = ledger("authorize_net", inv)["transactions"][0]
    assert (t["refunded"], t["state"], t["net"], len(t["refunds"])) == (2000, "refunded", 0, 2), t
    ctl("POST", "/_control/settle", {"provider": "authorize_net"})
    assert anet_details(rid)["transaction"]["transactionStatus"] == "refundSettledSuccessfully"


@test
def anet_triggers_decline_and_held():
    inv = uniq("ad")
    r = anet_charge("authCaptureTransaction", "10.00", token("authorize_net"), invoice=inv, zip_code="46282")
    tr = r["transactionResponse"]
    assert tr["responseCode"] == "2" and tr["errors"] == [
        {"errorCode": "2", "errorText": "This transaction has been declined."}], tr
    assert r["messages"]["message"][0] == {"code": "E00027", "text": "The transaction was unsuccessful."}
    assert ledger("authorize_net", inv)["transactions"][0]["state"] == "declined"
    assert anet_details(tr["transId"])["transaction"]["transactionStatus"] == "declined"
    inv = uniq("ah")
    r = anet_charge("authCaptureTransaction", "11.00", token("authorize_net"), invoice=inv, zip_code="46299")
    tr = r["transactionResponse"]
    assert tr["responseCode"] == "4" and r["messages"]["resultCode"] == "Ok", r
    assert anet_details(tr["transId"])["transaction"]["transactionStatus"] == "FDSPendingReview"
    assert ledger("authorize_net", inv)["transactions"][0]["state"] == "held"
    u = anet({"updateHeldTransactionRequest": {"merchantAuthentication": ANET_AUTH, "heldTransactionRequest": {
        "action": "approve", "refTransId": tr["transId"]}}})
    assert u["transactionResponse"]["responseCode"] == "1", u
    assert anet_details(tr["transId"])["transaction"]["transactionStatus"] == "capturedPendingSettlement"


@test
def anet_duplicate_window():
    inv = uniq("adup")
    r = anet_charge("authCaptureTransaction", "12.00", token("authorize_net"), invoice=inv)
    first = r["transactionResponse"]["transId"]
    r = anet_charge("authCaptureTransaction", "12.00", token("authorize_net"), invoice=inv)
    tr = r["transactionResponse"]
    assert tr["responseCode"] == "3" and tr["errors"][0] == {
        "errorCode": "11", "errorText": "A duplicate transaction has been submitted."}, tr
    assert tr["transId"] == "0"
    r = anet_charge("authCaptureTransaction", "12.00", token("authorize_net"), invoice=inv,
                    settings={"duplicateWindow": "600"})
    assert r["transactionResponse"]["errors"][0]["errorCode"] == "11"
    assert r["transactionResponse"]["transId"] == first  # enhanced duplicate response
    assert len(ledger("authorize_net", inv)["transactions"]) == 1
    ctl("POST", "/_control/clock", {"advance_seconds": 121})
    r = anet_charge("authCaptureTransaction", "12.00", token("authorize_net"), invoice=inv)
    assert r["transactionResponse"]["responseCode"] == "1", r
    r = anet_charge("authCaptureTransaction", "12.00", token("authorize_net"), invoice=inv,
                    settings={"duplicateWindow": "0"})
    assert r["transactionResponse"]["responseCode"] == "1", r
    assert len(ledger("authorize_net", inv)["transactions"]) == 3


@test
def anet_tokens_cards_and_cim():
    tok = token("authorize_net")
    r = anet_charge("authCaptureTransaction", "3.00", tok, invoice=uniq("at"))
    assert r["transactionResponse"]["responseCode"] == "1"
    r = anet_charge("authCaptureTransaction", "3.00", tok, invoice=uniq("at"))
    assert r["messages"]["message"][0]["code"] == "E00114", r
    tok = token("authorize_net")
    ctl("POST", "/_control/clock", {"advance_seconds": 901})
    r = anet_charge("authCaptureTransaction", "3.00", tok, invoice=uniq("at"))
    assert r["messages"]["message"][0]["code"] == "E00114", r
    # full card data refused, nothing charged
    inv = uniq("acard")
    r = anet({"createTransactionRequest": {"merchantAuthentication": ANET_AUTH, "transactionRequest": {
        "transactionType": "authCaptureTransaction", "amount": "5.00", "payment": {"creditCard": {
            "cardNumber": "4111111111111111", "expirationDate": "2030-12", "cardCode": "123"}},
        "order": {"invoiceNumber": inv}}}})
    assert r["transactionResponse"]["responseCode"] == "3", r
    assert ledger("authorize_net", inv)["transactions"] == []
    # CIM
    tok = token("authorize_net", last4="0015", brand="mastercard")
    r = anet({"createCustomerProfileRequest": {"merchantAuthentication": ANET_AUTH, "profile": {
        "merchantCustomerId": uniq("cust"), "description": "selftest", "email": "a@example.com",
        "paymentProfiles": {"customerType": "individual", "billTo": {"firstName": "A", "zip": "10001"},
                            "payment": {"opaqueData": {"dataDescriptor": "COMMON.ACCEPT.INAPP.PAYMENT",
                                                       "dataValue": tok}}}}, "validationMode": "none"}})
    assert r["messages"]["resultCode"] == "Ok", r
    cpid, ppids = r["customerProfileId"], r["customerPaymentProfileIdList"]
    assert cpid.isdigit() and len(ppids) == 1, r
    inv = uniq("acim")
    r = anet_charge("authCaptureTransaction", "8.00", invoice=inv, profile=(cpid, ppids[0]))
    tr = r["transactionResponse"]
    assert tr["responseCode"] == "1" and tr["accountNumber"] == "XXXX0015" and tr["accountType"] == "MasterCard", tr
    t = ledger("authorize_net", inv)["transactions"][0]
    assert (t["payment"], t["payment_ref"]) == ("profile", f"{cpid}/{ppids[0]}"), t
    r = anet_charge("authCaptureTransaction", "8.00", token("authorize_net"), invoice=uniq("acim"))
    assert r["transactionResponse"]["responseCode"] == "1"
    r = anet({"createCustomerProfileRequest": {"merchantAuthentication": ANET_AUTH, "profile": {
        "merchantCustomerId": uniq("cust"), "paymentProfiles": {"payment": {"opaqueData": {
            "dataDescriptor": "COMMON.ACCEPT.INAPP.PAYMENT", "dataValue": tok}}}}}})
    assert r["messages"]["message"][0]["code"] == "E00114", r  # nonce already consumed
    r = anet({"deleteCustomerProfileRequest": {"merchantAuthentication": ANET_AUTH, "customerProfileId": cpid}})
    assert r["messages"]["resultCode"] == "Ok", r
    r = anet_charge("authCaptureTransaction", "8.50", invoice=uniq("acim"), profile=(cpid, ppids[0]))
    assert r["messages"]["message"][0]["code"] == "E00040", r


@test
def anet_reporting_lists():
    ctl("POST", "/_control/settle", {"provider": "authorize_net"})  # start from an empty unsettled set
    inv_ok, inv_dec = uniq("al"), uniq("al")
    ok = anet_charge("authCaptureTransaction", "6.00", token("authorize_net"), invoice=inv_ok)["transactionResponse"]
    dec = anet_charge("authCaptureTransaction", "7.00", token("authorize_net"), invoice=inv_dec,
                      zip_code="46282")["transactionResponse"]
    r = anet({"getUnsettledTransactionListRequest": {"merchantAuthentication": ANET_AUTH,
                                                     "sorting": {"orderBy": "submitTimeUTC", "orderDescending": True},
                                                     "paging": {"limit": 1, "offset": 1}}})
    assert r["totalNumInResultSet"] == 2 and len(r["transactions"]) == 1, r
    assert r["transactions"][0]["transId"] == dec["transId"], r  # newest first
    r = anet({"getUnsettledTransactionListRequest": {"merchantAuthentication": ANET_AUTH}})
    by_inv = {t.get("invoiceNumber"): t for t in r["transactions"]}
    assert by_inv[inv_ok]["transactionStatus"] == "capturedPendingSettlement", by_inv
    assert by_inv[inv_dec]["transactionStatus"] == "declined", by_inv
    assert by_inv[inv_ok]["accountNumber"] == "XXXX1111" and by_inv[inv_ok]["settleAmount"] == 6.0
    s = ctl("POST", "/_control/settle", {"provider": "authorize_net"})
    assert s["transactions"] == 1 and s["batch_id"], s
    r = anet({"getUnsettledTransactionListRequest": {"merchantAuthentication": ANET_AUTH}})
    assert "transactions" not in r and r["totalNumInResultSet"] == 0, r
    r = anet({"getSettledBatchListRequest": {"merchantAuthentication": ANET_AUTH, "includeStatistics": True}})
    batch = [b for b in r["batchList"] if b["batchId"] == s["batch_id"]]
    assert batch and batch[0]["settlementState"] == "settledSuccessfully", r
    assert batch[0]["paymentMethod"] == "creditCard" and batch[0]["statistics"][0]["chargeCount"] == 1, batch
    assert batch[0]["statistics"][0]["declineCount"] == 1, batch
    r = anet({"getSettledBatchListRequest": {"merchantAuthentication": ANET_AUTH,
                                             "firstSettlementDate": "2000-01-01T00:00:00Z",
                                             "lastSettlementDate": "2000-01-02T00:00:00Z"}})
    assert r["messages"]["message"][0]["code"] == "I00004" and "batchList" not in r, r
    r = anet('{"getSettledBatchListRequest":{"merchantAuthentication":{"name":"sandbox-authnet-login",'
             '"transactionKey":"sandbox-authnet-transaction-key"},"firstSettlementDate":"2020-01-01T00:00:00Z",'
             '"includeStatistics":true}}')
    assert r["messages"]["message"][0]["code"] == "E00003", r  # schema order: includeStatistics first
    r = anet({"getTransactionListRequest": {"merchantAuthentication": ANET_AUTH, "batchId": s["batch_id"]}})
    ids = {t["transId"]: t for t in r["transactions"]}
    assert ids[ok["transId"]]["transactionStatus"] == "settledSuccessfully", r
    assert ids[ok["transId"]]["settleAmount"] == 6.0
    assert ids[dec["transId"]]["transactionStatus"] == "declined"


# ============================================================================================
# Faults
# ============================================================================================


def nmi_sale_fields(oid, amount="10.00"):
    return {"security_key": NMI_KEY, "type": "sale", "amount": amount, "orderid": oid,
            "payment_token": token("nmi")}


@test
def fault_refuse():
    calls_before = ledger()["calls"]["nmi"]
    port = int(SB.nmi.rsplit(":", 1)[1])
    f = ctl("POST", "/_control/faults", {"provider": "nmi", "kind": "refuse"})
    assert f["id"]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            pass
        raise AssertionError("connection should have been refused")
    except ConnectionRefusedError:
        pass
    try:
        nmi_raw(nmi_sale_fields(uniq("frf")), timeout=1)
        raise AssertionError("expected refused")
    except ConnectionRefusedError:
        pass
    assert ledger()["calls"]["nmi"] == calls_before  # no call was made
    ctl("DELETE", "/_control/faults?provider=nmi")
    r, _ = nmi({"type": "sale", "amount": "2.00", "orderid": uniq("frf"), "payment_token": token("nmi")})
    assert r["response"] == "1"  # same port again


@test
def fault_reset():
    oid = uniq("frs")
    ctl("POST", "/_control/faults", {"provider": "nmi", "kind": "reset", "reference": oid, "count": 1})
    try:
        nmi_raw(nmi_sale_fields(oid), timeout=2)
        raise AssertionError("expected a reset")
    except ConnectionResetError:
        pass
    lg = ledger("nmi", oid)
    assert lg["transactions"] == [] and len(lg["call_log"]) == 1 and lg["call_log"][0]["fault"] == "reset", lg
    r, _ = nmi({"type": "sale", "amount": "10.00", "orderid": oid, "payment_token": token("nmi")})
    assert r["response"] == "1"  # count=1: the next call is normal


@test
def fault_drop_after_processing():
    inv = uniq("fdr")
    ctl("POST", "/_control/faults", {"provider": "authorize_net", "kind": "drop_after_processing",
                                     "reference": inv, "count": 1})
    tok = token("authorize_net")
    req = {"createTransactionRequest": {"merchantAuthentication": ANET_AUTH, "transactionRequest": {
        "transactionType": "authCaptureTransaction", "amount": "9.00", "payment": {"opaqueData": {
            "dataDescriptor": "COMMON.ACCEPT.INAPP.PAYMENT", "dataValue": tok}}, "order": {"invoiceNumber": inv}}}}
    try:
        anet_raw(req, timeout=2)
        raise AssertionError("expected no response")
    except http.client.RemoteDisconnected:
        pass
    t = ledger("authorize_net", inv)["transactions"]
    assert len(t) == 1 and t[0]["captured"] == 900, t  # the charge exists
    # an identical resend within the window is reported as a duplicate, not charged again
    r = anet(req)
    assert r["transactionResponse"]["errors"][0]["errorCode"] == "11", r
    # and it is findable by invoice number in the unsettled list
    r = anet({"getUnsettledTransactionListRequest": {"merchantAuthentication": ANET_AUTH}})
    assert any(x.get("invoiceNumber") == inv for x in r["transactions"])


@test
def fault_timeout_before_processing():
    oid = uniq("fto")
    ctl("POST", "/_control/faults", {"provider": "nmi", "kind": "timeout_before_processing", "reference": oid,
                                     "delay_ms": 5000})
    t0 = time.monotonic()
    try:
        nmi_raw(nmi_sale_fields(oid), timeout=1)
        raise AssertionError("expected a client timeout")
    except (socket.timeout, TimeoutError):
        pass
    assert time.monotonic() - t0 < 2.5
    assert ledger("nmi", oid)["transactions"] == []
    assert ctl("DELETE", "/_control/faults?provider=nmi")["cleared"] == 1
    assert nmi_query({"order_id": oid}).findall("transaction") == []  # never processed


@test
def fault_http_500_and_delay():
    inv = uniq("f5")
    ctl("POST", "/_control/faults", {"provider": "authorize_net", "kind": "http_500", "reference": inv, "count": 1})
    tok = token("authorize_net")
    req = {"createTransactionRequest": {"merchantAuthentication": ANET_AUTH, "transactionRequest": {
        "transactionType": "authCaptureTransaction", "amount": "9.00", "payment": {"opaqueData": {
            "dataDescriptor": "COMMON.ACCEPT.INAPP.PAYMENT", "dataValue": tok}}, "order": {"invoiceNumber": inv}}}}
    status, headers, body = anet_raw(req)
    assert status == 500 and headers["Content-Type"].startswith("text/html"), (status, headers)
    assert ledger("authorize_net", inv)["transactions"] == []
    oid = uniq("fdl")
    ctl("POST", "/_control/faults", {"provider": "nmi", "kind": "delay", "delay_ms": 300, "reference": oid,
                                     "count": 1})
    t0 = time.monotonic()
    r, _ = nmi({"type": "sale", "amount": "3.00", "orderid": oid, "payment_token": token("nmi")})
    assert r["response"] == "1" and time.monotonic() - t0 >= 0.3


@test
def fault_malformed():
    oid = uniq("fm")
    ctl("POST", "/_control/faults", {"provider": "nmi", "kind": "malformed", "reference": oid, "count": 1})
    status, _, body = nmi_raw(nmi_sale_fields(oid))
    assert status == 200 and body == b"response=1&responsetext=SUCC", body
    assert len(ledger("nmi", oid)["transactions"]) == 1
    inv = uniq("fm")
    ctl("POST", "/_control/faults", {"provider": "authorize_net", "kind": "malformed", "reference": inv, "count": 1})
    tok = token("authorize_net")
    status, _, body = anet_raw({"createTransactionRequest": {"merchantAuthentication": ANET_AUTH,
                                                             "transactionRequest": {
        "transactionType": "authCaptureTransaction", "amount": "9.00", "payment": {"opaqueData": {
            "dataDescriptor": "COMMON.ACCEPT.INAPP.PAYMENT", "dataValue": tok}}, "order": {"invoiceNumber": inv}}}})
    assert status == 200 and body.startswith(BOM), body
    try:
        json.loads(body[len(BOM):])
        raise AssertionError("body should not parse")
    except ValueError:
        pass
    assert len(ledger("authorize_net", inv)["transactions"]) == 1


@test
def fault_scoping_and_listing():
    ctl("POST", "/_control/faults", {"provider": "nmi", "kind": "http_500", "reference": "only-this"})
    r, _ = nmi({"type": "sale", "amount": "2.00", "orderid": uniq("fsc"), "payment_token": token("nmi")})
    assert r["response"] == "1"  # other references are unaffected
    faults = ctl("GET", "/_control/faults")["faults"]
    assert len(faults) == 1 and faults[0]["reference"] == "only-this"
    status, _, _ = nmi_raw(nmi_sale_fields("only-this"))
    assert status == 500
    status, _, _ = nmi_raw(nmi_sale_fields("only-this"))
    assert status == 500  # no count: until cleared
    assert ctl("DELETE", "/_control/faults")["cleared"] == 1


@test
def keep_alive_connection_reuse():
    u = urllib.parse.urlsplit(SB.nmi)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    for _ in range(3):
        body = urllib.parse.urlencode({"security_key": NMI_KEY, "type": "sale", "amount": "1.25",
                                       "orderid": uniq("ka"), "payment_token": token("nmi")})
        conn.request("POST", "/api/transact.php", body, {"Content-Type": "application/x-www-form-urlencoded"})
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read().startswith(b"response=1&")
    conn.close()


@test
def control_reset():
    ctl("POST", "/_control/reset")
    lg = ledger()
    assert lg["transactions"] == [] and lg["calls"] == {"nmi": 0, "authorize_net": 0}, lg


def main() -> int:
    global SB
    t0 = time.monotonic()
    SB = Sandbox()
    failures = 0
    try:
        for fn in TESTS:
            t = time.monotonic()
            try:
                fn()
                print(f"PASS {fn.__name__} ({time.monotonic() - t:.2f}s)")
            except Exception:  # noqa: BLE001
                failures += 1
                print(f"FAIL {fn.__name__}")
                traceback.print_exc()
        extra = SB.extra_stdout()
        if extra:
            failures += 1
            print(f"FAIL stdout must hold only the announce line, got extra: {extra[:200]!r}")
    finally:
        SB.stop()
    rc = SB.proc.returncode
    if rc not in (0, -15):
        failures += 1
        print(f"FAIL providers.py exited with {rc} on SIGTERM")
    print(f"{len(TESTS) - failures if failures <= len(TESTS) else 0}/{len(TESTS)} passed, {failures} failure(s) "
          f"in {time.monotonic() - t0:.2f}s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
