#!/usr/bin/env python3
"""Protocol-faithful test doubles ("sandboxes") of two card gateways.

* NMI Direct Post (``POST /api/transact.php``) and Query API (``POST /api/query.php``)
* Authorize.net JSON API (``POST /xml/v1/request.api``)
* a JSON control API (tokens, faults, clock, settlement, ledger, reset)

Standard library only (Python 3.11).  Run::

    python3 tests/sandboxes/providers.py [--nmi-port 0] [--authorize-net-port 0] [--control-port 0]

When every listener is up, exactly one line is written to stdout::

    sandboxes listening control=http://127.0.0.1:PC nmi=http://127.0.0.1:PN authorize_net=http://127.0.0.1:PA

Everything else goes to stderr.  Request bodies, tokens and keys are never logged.
See README.md next to this file for the wire behaviour, triggers and faults.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import decimal
import http
import http.server
import json
import random
import re
import secrets
import select
import signal
import socket
import socketserver
import string
import struct
import sys
import threading
import time
import urllib.parse
from email.utils import formatdate
from xml.sax.saxutils import escape as xml_escape

# --------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------

NMI_SECURITY_KEY = "sandbox-nmi-security-key"
ANET_LOGIN = "sandbox-authnet-login"
ANET_TRANSACTION_KEY = "sandbox-authnet-transaction-key"

TOKEN_TTL_SECONDS = 15 * 60
NMI_DEFAULT_DUP_SECONDS = 1200
ANET_DEFAULT_DUP_WINDOW = 120
ANET_MAX_DUP_WINDOW = 28800

ANET_DECLINE_ZIP = "46282"
ANET_HELD_ZIP = "46299"          # sandbox-specific: held for review (FDSPendingReview)
NMI_DECLINE_BELOW_CENTS = 100    # NMI test mode: amount < 1.00 declines

ANET_NS = "AnetApi/xml/v1/schema/AnetApiSchema.xsd"
BOM = b"\xef\xbb\xbf"
PROVIDERS = ("nmi", "authorize_net")
FAULT_KINDS = (
    "delay",
    "drop_after_processing",
    "timeout_before_processing",
    "timeout_after_processing",
    "http_500",
    "reset",
    "malformed",
    "refuse",
)

BRANDS = {
    # brand: (NMI cc_type, Authorize.net accountType, first digit, PAN length)
    "visa": ("visa", "Visa", "4", 16),
    "mastercard": ("mastercard", "MasterCard", "5", 16),
    "amex": ("amex", "AmericanExpress", "3", 15),
    "discover": ("discover", "Discover", "6", 16),
    "jcb": ("jcb", "JCB", "3", 16),
    "diners": ("diners", "DinersClub", "3", 14),
}
BRAND_ALIASES = {
    "american_express": "amex", "americanexpress": "amex", "master": "mastercard", "mc": "mastercard",
    "dinersclub": "diners", "diners_club": "diners",
}


def log(msg: str) -> None:
    try:
        sys.stderr.write(f"[sandboxes] {msg}\n")
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - logging must never break serving
        pass


# --------------------------------------------------------------------------------------------
# Money / time helpers
# --------------------------------------------------------------------------------------------

_AMOUNT_RE = re.compile(r"^\d{1,10}(\.\d{1,2})?$")
_XS_DECIMAL_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def parse_amount(value) -> int | None:
    """Decimal major-unit string ("10.00", "10", "10.5") -> integer cents; None if malformed."""
    if value is None:
        return None
    s = str(value).strip()
    if not _AMOUNT_RE.match(s):
        return None
    whole, _, frac = s.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def fmt_amount(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    return f"{sign}{cents // 100}.{cents % 100:02d}"


class Money:
    """A cents amount serialised as a JSON *number* with two decimals (like Authorize.net)."""

    __slots__ = ("cents",)

    def __init__(self, cents: int):
        self.cents = int(cents)


def iso_utc(ts: float, ms: bool = False) -> str:
    d = dt.datetime.fromtimestamp(ts, dt.timezone.utc)
    base = d.strftime("%Y-%m-%dT%H:%M:%S")
    if ms:
        base += f".{d.microsecond // 1000:03d}"
    return base + "Z"


def iso_local(ts: float, ms: bool = False) -> str:
    # Authorize.net reports merchant-local time next to UTC; the sandbox merchant lives in MST (UTC-7).
    d = dt.datetime.fromtimestamp(ts, dt.timezone(dt.timedelta(hours=-7)))
    base = d.strftime("%Y-%m-%dT%H:%M:%S")
    if ms:
        base += f".{d.microsecond // 1000:03d}"
    return base


def nmi_date(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y%m%d%H%M%S")


def parse_xs_datetime(value) -> float | None:
    if not isinstance(value, str):
        return None
    s = value.strip()
    if s.endswith("Z") or s.endswith("z"):
        s = s[:-1] + "+00:00"
    try:
        d = dt.datetime.fromisoformat(s)
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.timezone.utc)
    return d.timestamp()


def json_dump(obj) -> str:
    """Minimal JSON writer that keeps key order and renders Money as 12.50 (number)."""
    if isinstance(obj, Money):
        return fmt_amount(obj.cents)
    if isinstance(obj, dict):
        return "{" + ",".join(json.dumps(str(k)) + ":" + json_dump(v) for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(json_dump(v) for v in obj) + "]"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if obj is None:
        return "null"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, decimal.Decimal):
        return format(obj, "f")
    if isinstance(obj, float):
        return json.dumps(obj)
    return json.dumps(str(obj))


# --------------------------------------------------------------------------------------------
# Authorize.net schema (element order is enforced like the real XSD validation does)
# Derived from AnetApiSchema.xsd (AuthorizeNet/sdk-php).  "!" = required, "*" = repeatable,
# ":type" = complex child type validated recursively, ":ANY" = complex child not checked.
# --------------------------------------------------------------------------------------------


class _El:
    __slots__ = ("name", "required", "repeat", "ctype")

    def __init__(self, spec: str):
        name, _, ctype = spec.partition(":")
        self.required = "!" in name
        self.repeat = "*" in name
        self.name = name.replace("!", "").replace("*", "")
        self.ctype = ctype or None

    def names(self):
        return [self.name]

    def matches(self, key):
        return key == self.name

    def element(self, key):  # noqa: ARG002
        return self


class _Choice:
    __slots__ = ("members", "required", "repeat")

    def __init__(self, members, required=True):
        self.members = [_El(m) for m in members]
        self.required = required
        self.repeat = False

    def names(self):
        return [m.name for m in self.members]

    def matches(self, key):
        return any(m.name == key for m in self.members)

    def element(self, key):
        for m in self.members:
            if m.name == key:
                return m
        return None


def _seq(*items):
    return [i if isinstance(i, _Choice) else _El(i) for i in items]


_BASE_REQ = ["merchantAuthentication!:merchantAuthenticationType", "clientId", "refId"]

ANET_TYPES = {
    "merchantAuthenticationType": _seq(
        "name",
        _Choice(["transactionKey", "sessionToken", "password", "impersonationAuthentication:ANY",
                 "fingerPrint:ANY", "clientKey", "accessToken"], required=True),
        "mobileDeviceId",
    ),
    "transactionRequestType": _seq(
        "transactionType!", "amount", "currencyCode", "payment:paymentType",
        "profile:customerProfilePaymentType", "solution:ANY", "callId", "terminalNumber", "authCode",
        "refTransId", "splitTenderId", "order:orderType", "lineItems:ANY", "tax:ANY", "duty:ANY",
        "shipping:ANY", "taxExempt", "poNumber", "customer:customerDataType",
        "billTo:customerAddressType", "shipTo:nameAndAddressType", "customerIP",
        "cardholderAuthentication:ANY", "retail:ANY", "employeeId", "transactionSettings:ArrayOfSetting",
        "userFields:userFieldsType", "surcharge:ANY", "merchantDescriptor", "subMerchant:ANY", "tip:ANY",
        "processingOptions:ANY", "subsequentAuthInformation:ANY", "otherTax:ANY", "shipFrom:ANY",
        "authorizationIndicatorType:ANY",
    ),
    "orderType": _seq(
        "invoiceNumber", "description", "discountAmount", "taxIsAfterDiscount", "totalTaxTypeCode",
        "purchaserVATRegistrationNumber", "merchantVATRegistrationNumber", "vatInvoiceReferenceNumber",
        "purchaserCode", "summaryCommodityCode", "purchaseOrderDateUTC", "supplierOrderReference",
        "authorizedContactName", "cardAcceptorRefNumber", "amexDataTAA1", "amexDataTAA2", "amexDataTAA3",
        "amexDataTAA4",
    ),
    "paymentType": [
        _Choice(["creditCard:creditCardType", "bankAccount:ANY", "trackData:ANY", "encryptedTrackData:ANY",
                 "payPal:ANY", "opaqueData:opaqueDataType", "emv:ANY"], required=True),
        _El("dataSource"),
    ],
    "creditCardType": _seq(
        "cardNumber!", "expirationDate!", "cardCode", "isPaymentToken", "cryptogram", "tokenRequestorName",
        "tokenRequestorId", "tokenRequestorEci",
    ),
    "opaqueDataType": _seq("dataDescriptor!", "dataValue!", "dataKey", "expirationTimeStamp"),
    "customerProfilePaymentType": _seq(
        "createProfile", "customerProfileId", "paymentProfile:paymentProfile", "shippingProfileId"),
    "paymentProfile": _seq("paymentProfileId!", "cardCode"),
    "customerDataType": _seq("type", "id", "email", "driversLicense:ANY", "taxId"),
    "nameAndAddressType": _seq("firstName", "lastName", "company", "address", "city", "state", "zip",
                               "country"),
    "customerAddressType": _seq("firstName", "lastName", "company", "address", "city", "state", "zip",
                                "country", "phoneNumber", "faxNumber", "email"),
    "ArrayOfSetting": _seq("setting*:settingType"),
    "settingType": _seq("settingName", "settingValue"),
    "userFieldsType": _seq("userField*:userField"),
    "userField": _seq("name", "value"),
    "TransactionListSorting": _seq("orderBy!", "orderDescending!"),
    "Paging": _seq("limit!", "offset!"),
    "customerProfileType": _seq(
        "merchantCustomerId", "description", "email", "paymentProfiles*:customerPaymentProfileType",
        "shipToList*:customerAddressType", "profileType"),
    "customerPaymentProfileType": _seq(
        "customerType", "billTo:customerAddressType", "payment:paymentType", "driversLicense:ANY", "taxId",
        "defaultPaymentProfile", "subsequentAuthInformation:ANY", "excludeFromAccountUpdater"),
    "heldTransactionRequestType": _seq("action!", "refTransId!"),
    # root requests
    "createTransactionRequest": _seq(*_BASE_REQ, "transactionRequest!:transactionRequestType"),
    "getTransactionDetailsRequest": _seq(*_BASE_REQ, "transId!"),
    "getUnsettledTransactionListRequest": _seq(
        *_BASE_REQ, "status", "sorting:TransactionListSorting", "paging:Paging"),
    "getSettledBatchListRequest": _seq(
        *_BASE_REQ, "includeStatistics", "firstSettlementDate", "lastSettlementDate"),
    "getTransactionListRequest": _seq(*_BASE_REQ, "batchId", "sorting:TransactionListSorting", "paging:Paging"),
    "createCustomerProfileRequest": _seq(*_BASE_REQ, "profile!:customerProfileType", "validationMode"),
    "deleteCustomerProfileRequest": _seq(*_BASE_REQ, "customerProfileId!"),
    "updateHeldTransactionRequest": _seq(*_BASE_REQ, "heldTransactionRequest!:heldTransactionRequestType"),
    "authenticateTestRequest": _seq(*_BASE_REQ),
}

ANET_IMPLEMENTED = {
    "createTransactionRequest", "getTransactionDetailsRequest", "getUnsettledTransactionListRequest",
    "getSettledBatchListRequest", "getTransactionListRequest", "createCustomerProfileRequest",
    "deleteCustomerProfileRequest", "updateHeldTransactionRequest", "authenticateTestRequest",
}

# Every root element the real schema declares (unknown ones get "element is not declared").
ANET_KNOWN_ROOTS = ANET_IMPLEMENTED | {
    "decryptPaymentDataRequest", "securePaymentContainerRequest", "isAliveRequest",
    "ARBCreateSubscriptionRequest", "ARBUpdateSubscriptionRequest", "ARBCancelSubscriptionRequest",
    "ARBGetSubscriptionStatusRequest", "createCustomerPaymentProfileRequest",
    "createCustomerShippingAddressRequest", "createCustomerProfileFromTransactionRequest",
    "getCustomerProfileRequest", "getCustomerPaymentProfileRequest", "getCustomerShippingAddressRequest",
    "updateCustomerProfileRequest", "updateCustomerPaymentProfileRequest",
    "updateCustomerShippingAddressRequest", "deleteCustomerPaymentProfileRequest",
    "deleteCustomerShippingAddressRequest", "createCustomerProfileTransactionRequest",
    "validateCustomerPaymentProfileRequest", "getCustomerProfileIdsRequest", "updateSplitTenderGroupRequest",
    "getBatchStatisticsRequest", "getHostedProfilePageRequest", "getHostedPaymentPageRequest",
    "mobileDeviceRegistrationRequest", "mobileDeviceLoginRequest", "logoutRequest",
    "sendCustomerTransactionReceiptRequest", "ARBGetSubscriptionListRequest",
    "getCustomerPaymentProfileListRequest", "ARBGetSubscriptionRequest", "getTransactionListForCustomerRequest",
    "getAUJobSummaryRequest", "getAUJobDetailsRequest", "getMerchantDetailsRequest",
    "updateMerchantDetailsRequest", "getCustomerPaymentProfileNonceRequest",
}


class Pairs(list):
    """A JSON object as an ordered list of (key, value) pairs (duplicates kept)."""


class SchemaError(Exception):
    pass


def _ns(name: str) -> str:
    return f"'{name}' in namespace '{ANET_NS}'"


def _expected(particles, start, consumed) -> list[str]:
    out = []
    for idx in range(start, len(particles)):
        p = particles[idx]
        out.extend(p.names())
        if p.required and idx not in consumed:
            break
    return out


def anet_validate(elem_name: str, value, ctype: str) -> None:
    """Validate the JSON value of element ``elem_name`` against complex type ``ctype``."""
    if ctype == "ANY" or ctype not in ANET_TYPES:
        return
    particles = ANET_TYPES[ctype]
    if isinstance(value, list) and not isinstance(value, Pairs):
        for item in value:
            anet_validate(elem_name, item, ctype)
        return
    if not isinstance(value, Pairs):
        if value is None or value == "":
            value = Pairs()
        else:
            exp = _expected(particles, 0, set())
            tail = f" List of possible elements expected: '{', '.join(exp)}' in namespace '{ANET_NS}'." if exp else ""
            raise SchemaError(f"The element {_ns(elem_name)} cannot contain text.{tail}")
    pos = 0
    consumed: set[int] = set()
    for key, child in value:
        found = None
        j = pos
        while j < len(particles):
            p = particles[j]
            if p.matches(key):
                found = j
                break
            if p.required and j not in consumed:
                break
            j += 1
        if found is None:
            exp = _expected(particles, pos, consumed)
            msg = f"The element {_ns(elem_name)} has invalid child element {_ns(key)}."
            if exp:
                msg += f" List of possible elements expected: '{', '.join(exp)}' in namespace '{ANET_NS}'."
            raise SchemaError(msg)
        particle = particles[found]
        el = particle.element(key)
        consumed.add(found)
        pos = found if particle.repeat else found + 1
        if el.ctype:
            anet_validate(key, child, el.ctype)
        elif isinstance(child, Pairs) or (isinstance(child, list) and any(isinstance(c, list) for c in child)):
            raise SchemaError(
                f"The element {_ns(key)} cannot contain child element because the parent element's "
                f"content model is text only.")
    for idx in range(pos, len(particles)):
        if particles[idx].required and idx not in consumed:
            exp = _expected(particles, pos, consumed)
            raise SchemaError(
                f"The element {_ns(elem_name)} has incomplete content. List of possible elements expected: "
                f"'{', '.join(exp)}' in namespace '{ANET_NS}'.")


def to_plain(v):
    if isinstance(v, Pairs):
        d = {}
        for k, x in v:
            d[k] = to_plain(x)
        return d
    if isinstance(v, list):
        return [to_plain(x) for x in v]
    return v


def scalar_str(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, decimal.Decimal):
        return format(v, "f")
    if isinstance(v, (dict, list)):
        return ""
    return str(v)


def as_list(v):
    if v is None:
        return []
    if isinstance(v, list):
        return v
    return [v]


def invalid_value(elem: str, value: str, datatype: str, detail: str) -> SchemaError:
    return SchemaError(
        f"The '{ANET_NS}:{elem}' element is invalid - The value '{value}' is invalid according to its "
        f"datatype '{datatype}' - {detail}")


# --------------------------------------------------------------------------------------------
# Books
# --------------------------------------------------------------------------------------------


class Txn:
    """One charge (sale/auth) at one provider."""

    def __init__(self, **kw):
        self.provider: str = kw["provider"]
        self.id: str = kw["id"]
        self.reference: str = kw.get("reference", "")
        self.type: str = kw["type"]                 # sale | auth
        self.amount: int = kw["amount"]
        self.authorized: int = 0
        self.captured: int = 0
        self.refunded: int = 0
        self.state: str = "authorized"
        self.batch_id: str | None = None
        self.payment: str = kw["payment"]           # token | vault | profile
        self.payment_ref: str | None = kw.get("payment_ref")
        self.card: dict = kw["card"]
        self.created_at: float = kw["created_at"]
        self.currency: str = kw.get("currency", "USD")
        self.auth_code: str = ""
        self.avs: str = ""
        self.cvv: str = ""
        self.response_code: str = ""
        self.reason_code: int = 1
        self.actions: list[dict] = []
        self.refund_ids: list[str] = []
        self.dup_key = kw.get("dup_key")
        self.extra: dict = kw.get("extra", {})
        self.settled_at: float | None = None
        self.swept_batch: str | None = None       # Authorize.net: voided/declined swept into a batch

    def recompute_refund_state(self):
        if self.state in ("voided", "declined", "held", "authorized"):
            return
        if self.refunded <= 0:
            self.state = "settled" if self.batch_id else "captured"
        elif self.refunded >= self.captured:
            self.state = "refunded"
        else:
            self.state = "partially_refunded"


class Refund:
    def __init__(self, **kw):
        self.provider: str = kw["provider"]
        self.id: str = kw["id"]
        self.parent_id: str = kw["parent_id"]
        self.amount: int = kw["amount"]
        self.reference: str = kw.get("reference", "")
        self.created_at: float = kw["created_at"]
        self.state: str = "pending"               # pending | settled | voided
        self.batch_id: str | None = None
        self.settled_at: float | None = None


class Fault:
    def __init__(self, fid, provider, kind, reference, count, delay_ms, created_at):
        self.id = fid
        self.provider = provider
        self.kind = kind
        self.reference = reference
        self.count = count
        self.delay_ms = delay_ms
        self.created_at = created_at
        self.hits = 0

    def as_json(self):
        return {"id": self.id, "provider": self.provider, "kind": self.kind, "reference": self.reference,
                "count": self.count, "delay_ms": self.delay_ms, "hits": self.hits}


# --------------------------------------------------------------------------------------------
# The application state (one lock)
# --------------------------------------------------------------------------------------------


class App:
    def __init__(self):
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.listeners: dict[str, "Listener"] = {}
        self.conns: dict[str, set] = {p: set() for p in PROVIDERS + ("control",)}
        self.conns_lock = threading.Lock()
        self.rng = random.Random()
        self._fault_seq = 0
        self.nmi_seq = self.rng.randint(8_000_000_000, 8_900_000_000)
        self.anet_seq = self.rng.randint(60_000_000_000, 60_900_000_000)
        self.batch_seq = self.rng.randint(10_000_000, 19_000_000)
        self.profile_seq = self.rng.randint(500_000_000, 590_000_000)
        self.vault_seq = self.rng.randint(1_000_000_000, 1_900_000_000)
        self.generation = 0
        self._reset_state()

    def _reset_state(self):
        self.offset = 0.0
        self.tokens: dict[str, dict] = {}
        self.txns: dict[str, Txn] = {}
        self.order: list[str] = []
        self.refunds: dict[str, Refund] = {}
        self.batches: dict[str, dict] = {}
        self.nmi_vault: dict[str, dict] = {}
        self.anet_profiles: dict[str, dict] = {}
        self.anet_payment_profiles: dict[str, tuple[str, dict]] = {}
        self.faults: list[Fault] = []
        self.calls = {p: 0 for p in PROVIDERS}
        self.call_log: list[dict] = []

    # ---- clock / ids ---------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.offset

    def next_nmi_id(self) -> str:
        self.nmi_seq += self.rng.randint(1, 9)
        return str(self.nmi_seq)

    def next_anet_id(self) -> str:
        self.anet_seq += self.rng.randint(1, 9)
        return str(self.anet_seq)

    def next_batch_id(self) -> str:
        self.batch_seq += self.rng.randint(1, 9)
        return str(self.batch_seq)

    def next_profile_id(self) -> str:
        self.profile_seq += self.rng.randint(1, 9)
        return str(self.profile_seq)

    def next_vault_id(self) -> str:
        self.vault_seq += self.rng.randint(1, 9)
        return str(self.vault_seq)

    def refid(self) -> str:
        return str(self.rng.randint(100_000_000, 4_000_000_000))

    # ---- connection tracking (for `refuse`) -----------------------------------------------
    def register_conn(self, role, sock):
        with self.conns_lock:
            self.conns[role].add(sock)

    def unregister_conn(self, role, sock):
        with self.conns_lock:
            self.conns[role].discard(sock)

    def drop_connections(self, role):
        with self.conns_lock:
            socks = list(self.conns[role])
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # ---- tokens ----------------------------------------------------------------------------
    def issue_token(self, provider, card) -> str:
        if provider == "nmi":
            alnum = string.ascii_letters + string.digits
            parts = ["".join(secrets.choice(alnum) for _ in range(n)) for n in (8, 6, 6, 12)]
            tok = "-".join(parts)
        else:
            payload = {"code": "50_2_06000" + secrets.token_hex(48).upper(),
                       "token": "".join(secrets.choice(string.digits) for _ in range(19)), "v": "1.1"}
            tok = base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
        self.tokens[tok] = {"provider": provider, "card": card, "issued_at": self.now(), "used_at": None}
        return tok

    def peek_token_card(self, provider, tok):
        rec = self.tokens.get(tok)
        if rec and rec["provider"] == provider:
            return rec["card"]
        return None

    def take_token(self, provider, tok):
        """Consume a one-time token.  Returns the card or None (unknown/used/expired/other provider)."""
        rec = self.tokens.get(tok)
        if not rec or rec["provider"] != provider or rec["used_at"] is not None:
            return None
        if self.now() > rec["issued_at"] + TOKEN_TTL_SECONDS:
            return None
        rec["used_at"] = self.now()
        return rec["card"]

    # ---- faults ----------------------------------------------------------------------------
    def add_fault(self, provider, kind, reference, count, delay_ms) -> Fault:
        self._fault_seq += 1
        f = Fault(f"fault_{self._fault_seq}", provider, kind, reference, count, delay_ms, self.now())
        self.faults.append(f)
        return f

    def match_fault(self, provider, refs: set) -> Fault | None:
        for f in self.faults:
            if f.provider != provider or f.kind == "refuse":
                continue
            if f.reference is not None and f.reference not in refs:
                continue
            if f.count is not None and f.count <= 0:
                continue
            if f.count is not None:
                f.count -= 1
            f.hits += 1
            if f.count is not None and f.count <= 0:
                self.faults.remove(f)
            return f
        return None

    def refuse_active(self, provider) -> bool:
        return any(f.provider == provider and f.kind == "refuse" for f in self.faults)

    # ---- misc ------------------------------------------------------------------------------
    def record_call(self, provider, op, reference, fault):
        self.calls[provider] += 1
        self.call_log.append({"provider": provider, "op": op, "reference": reference,
                              "at": iso_utc(self.now(), ms=True), "fault": fault})
        if len(self.call_log) > 10000:
            del self.call_log[:1000]

    def add_txn(self, t: Txn):
        self.txns[t.id] = t
        self.order.append(t.id)

    def action(self, t: Txn, kind, amount, success=True, code="", text="", ref_id=None):
        t.actions.append({"type": kind, "amount": amount, "at": self.now(), "success": success,
                          "response_code": code, "response_text": text, "id": ref_id or t.id})

    def find_dup(self, provider, dup_key, window, include_declined) -> Txn | None:
        if window <= 0:
            return None
        cutoff = self.now() - window
        for tid in reversed(self.order):
            t = self.txns[tid]
            if t.created_at < cutoff:
                break
            if t.provider != provider or t.dup_key != dup_key:
                continue
            if t.state == "declined" and not include_declined:
                continue
            return t
        return None

    # ---- settlement --------------------------------------------------------------------------
    def settle(self, provider) -> dict:
        now = self.now()
        charges = [self.txns[i] for i in self.order
                   if self.txns[i].provider == provider and self.txns[i].batch_id is None
                   and self.txns[i].captured > 0 and self.txns[i].state not in ("voided", "declined", "held")]
        refunds = [r for r in self.refunds.values()
                   if r.provider == provider and r.batch_id is None and r.state == "pending"]
        swept = []
        if provider == "authorize_net":
            swept = [self.txns[i] for i in self.order
                     if self.txns[i].provider == provider and self.txns[i].batch_id is None
                     and self.txns[i].swept_batch is None and self.txns[i].state in ("voided", "declined")]
            swept_refunds = [r for r in self.refunds.values()
                             if r.provider == provider and r.batch_id is None and r.state == "voided"]
        else:
            swept_refunds = []
        if not charges and not refunds and not swept and not swept_refunds:
            return {"batch_id": None, "transactions": 0, "refunds": 0, "swept": 0}
        bid = self.next_batch_id()
        for t in charges:
            t.batch_id = bid
            t.settled_at = now
            if t.state == "captured":
                t.state = "settled"
            self.action(t, "settle", t.captured, True, "100", "")
        for r in refunds:
            r.batch_id = bid
            r.settled_at = now
            r.state = "settled"
        for t in swept:
            t.swept_batch = bid
        for r in swept_refunds:
            r.batch_id = bid
        self.batches[bid] = {"id": bid, "provider": provider, "settled_at": now,
                             "charges": [t.id for t in charges], "refunds": [r.id for r in refunds],
                             "swept": [t.id for t in swept] + [r.id for r in swept_refunds]}
        return {"batch_id": bid, "transactions": len(charges), "refunds": len(refunds),
                "swept": len(swept) + len(swept_refunds)}

    # ---- ledger ------------------------------------------------------------------------------
    def ledger(self, provider=None, reference=None) -> dict:
        out = []
        for tid in self.order:
            t = self.txns[tid]
            if provider and t.provider != provider:
                continue
            if reference is not None and t.reference != reference and reference != t.id:
                continue
            net = t.captured - t.refunded if t.state not in ("voided", "declined") else 0
            out.append({
                "provider": t.provider, "id": t.id, "reference": t.reference, "type": t.type,
                "amount": t.amount, "authorized": t.authorized, "captured": t.captured,
                "refunded": t.refunded, "net": net,
                "pending_hold": t.authorized if t.state in ("authorized", "held") else 0,
                "state": t.state, "batch_id": t.batch_id, "payment": t.payment,
                "payment_ref": t.payment_ref, "last4": t.card.get("last4"), "brand": t.card.get("brand"),
                "currency": t.currency, "auth_code": t.auth_code,
                "created_at": iso_utc(t.created_at, ms=True),
                "refunds": [{"id": r.id, "amount": r.amount, "state": r.state, "batch_id": r.batch_id,
                             "reference": r.reference, "created_at": iso_utc(r.created_at, ms=True)}
                            for r in (self.refunds[i] for i in t.refund_ids)],
                "actions": [{"type": a["type"], "amount": a["amount"], "at": iso_utc(a["at"], ms=True),
                             "success": a["success"], "response_code": a["response_code"],
                             "response_text": a["response_text"], "id": a["id"]} for a in t.actions],
            })
        log_entries = [c for c in self.call_log
                       if (not provider or c["provider"] == provider)
                       and (reference is None or c["reference"] == reference)]
        return {"transactions": out, "calls": dict(self.calls), "call_log": log_entries,
                "now": iso_utc(self.now(), ms=True)}

    # =====================================================================================
    # NMI
    # =====================================================================================

    def nmi_refs(self, form) -> set:
        return {form.get(k) for k in ("orderid", "order_id", "transactionid", "transaction_id")
                if form.get(k)}

    def nmi_op(self, path, form) -> str:
        if path.endswith("query.php"):
            return "query"
        if form.get("customer_vault"):
            return form.get("customer_vault", "") + ("+" + form["type"] if form.get("type") else "")
        return form.get("type", "") or "unknown"

    def nmi_transact(self, form: dict) -> str:
        ttype = form.get("type", "").strip().lower()
        vault_op = form.get("customer_vault", "").strip().lower()
        orderid = form.get("orderid", "")
        vault_field = "" if vault_op else None

        def R(response, text, code, tid="", authcode="", vault=vault_field, typ=None, oid=None, avs="", cvv=""):
            fields = [("response", str(response)), ("responsetext", text), ("authcode", authcode),
                      ("transactionid", tid), ("avsresponse", avs), ("cvvresponse", cvv),
                      ("orderid", orderid if oid is None else oid), ("type", ttype if typ is None else typ),
                      ("response_code", str(code))]
            if vault is not None:
                fields.append(("customer_vault_id", vault))
            return "&".join(f"{k}={nmi_enc(v)}" for k, v in fields)

        def err(text, code=300, **kw):
            return R(3, f"{text} REFID:{self.refid()}", code, **kw)

        if form.get("security_key", "") != NMI_SECURITY_KEY:
            return R(3, "Authentication Failed", 300)
        if any(k in form for k in ("ccnumber", "cvv", "ccexp")):
            return R(3, "card data not accepted by this sandbox", 300)
        if form.get("payment", "creditcard").lower() == "check" or any(
                k in form for k in ("checkaba", "checkaccount")):
            return err("payment method not supported by this sandbox")

        if vault_op:
            if vault_op == "add_customer":
                if ttype in ("sale", "auth"):
                    return self.nmi_charge(form, ttype, R, err, add_vault=True)
                if ttype:
                    return err("Invalid Transaction Type")
                tok = form.get("payment_token", "")
                if not tok:
                    return err("Required Field cc_number is Missing or Empty")
                vid = form.get("customer_vault_id") or self.next_vault_id()
                if vid in self.nmi_vault:
                    return err("Duplicate Customer Vault Id")
                card = self.take_token("nmi", tok)
                if card is None:
                    return R(3, "Invalid Payment Token", 300)
                self.nmi_vault[vid] = {"card": card, "created_at": self.now()}
                return R(1, "Customer Added", 100, vault=vid)
            if vault_op == "update_customer":
                vid = form.get("customer_vault_id", "")
                if vid not in self.nmi_vault:
                    return err("Invalid Customer Vault Id", vault=vid)
                tok = form.get("payment_token", "")
                if tok:
                    card = self.take_token("nmi", tok)
                    if card is None:
                        return R(3, "Invalid Payment Token", 300, vault=vid)
                    self.nmi_vault[vid]["card"] = card
                return R(1, "Customer Update Successful", 100, vault=vid)
            if vault_op == "delete_customer":
                vid = form.get("customer_vault_id", "")
                if vid not in self.nmi_vault:
                    return err("Invalid Customer Vault Id", vault=vid)
                del self.nmi_vault[vid]
                return R(1, "Customer Deleted", 100, vault="")
            return err("Invalid Customer Vault Operation")

        if ttype in ("sale", "auth"):
            return self.nmi_charge(form, ttype, R, err, add_vault=False)
        if ttype == "capture":
            return self.nmi_capture(form, R, err)
        if ttype == "void":
            return self.nmi_void(form, R, err)
        if ttype == "refund":
            return self.nmi_refund(form, R, err)
        if ttype in ("credit", "validate", "update", "offline", "complete_partial_payment", "verify"):
            return err(f"Transaction type {ttype} is not supported by this sandbox")
        return err("Invalid Transaction Type")

    def nmi_charge(self, form, ttype, R, err, add_vault) -> str:
        amount = parse_amount(form.get("amount"))
        if amount is None:
            return err("Invalid amount")
        orderid = form.get("orderid", "")
        currency = (form.get("currency") or "USD").upper()
        tok = form.get("payment_token", "")
        vid = form.get("customer_vault_id", "")
        use_vault = bool(vid) and not add_vault
        if add_vault and not tok:
            return err("Required Field cc_number is Missing or Empty")
        if not tok and not vid:
            return err("Required Field cc_number is Missing or Empty")
        # identity of the card, for the duplicate check (the real gateway compares the card)
        if use_vault:
            v = self.nmi_vault.get(vid)
            if v is None:
                return err("Invalid Customer Vault Id")
            ident_card = v["card"]
        else:
            ident_card = self.peek_token_card("nmi", tok)
        dup_seconds = NMI_DEFAULT_DUP_SECONDS
        if "dup_seconds" in form:
            try:
                dup_seconds = max(0, int(form["dup_seconds"]))
            except ValueError:
                return err("Invalid dup_seconds")
        dup_key = (orderid, ttype, amount, card_identity(ident_card))
        if ident_card is not None:
            prior = self.find_dup("nmi", dup_key, dup_seconds, include_declined=False)
            if prior is not None:
                return R(3, f"Duplicate transaction REFID:{self.refid()}", 300)
        payment, payment_ref = "vault", vid
        if use_vault:
            card = ident_card
        else:
            card = self.take_token("nmi", tok)
            if card is None:
                return R(3, "Invalid Payment Token", 300)
            payment, payment_ref = "token", None
            if add_vault:
                new_vid = vid or self.next_vault_id()
                if new_vid in self.nmi_vault:
                    return err("Duplicate Customer Vault Id")
                self.nmi_vault[new_vid] = {"card": card, "created_at": self.now()}
                payment, payment_ref = "vault", new_vid
        t = Txn(provider="nmi", id=self.next_nmi_id(), reference=orderid, type=ttype, amount=amount,
                payment=payment, payment_ref=payment_ref, card=card, created_at=self.now(), currency=currency,
                dup_key=dup_key, extra={"email": form.get("email", ""), "first_name": form.get("first_name", ""),
                                        "last_name": form.get("last_name", "")})
        vault_out = payment_ref if add_vault else None
        if amount < NMI_DECLINE_BELOW_CENTS:
            t.state = "declined"
            t.response_code = "200"
            self.add_txn(t)
            self.action(t, ttype, amount, False, "200", "DECLINE")
            return R(2, "DECLINE", 200, tid=t.id, vault=vault_out)
        t.auth_code = "123456"
        t.authorized = amount
        t.response_code = "100"
        if ttype == "sale":
            t.captured = amount
            t.state = "captured"
        else:
            t.state = "authorized"
        self.add_txn(t)
        self.action(t, ttype, amount, True, "100", "SUCCESS")
        return R(1, "SUCCESS", 100, tid=t.id, authcode=t.auth_code, vault=vault_out)

    def _nmi_target(self, tid):
        t = self.txns.get(tid)
        if t is not None and t.provider == "nmi":
            return t
        return None

    def nmi_capture(self, form, R, err) -> str:
        tid = form.get("transactionid", "")
        t = self._nmi_target(tid)
        if t is None:
            return err("Invalid Transaction ID / Object ID specified: ")
        if t.state != "authorized" or t.type != "auth":
            if t.state == "voided":
                return err("Transaction has been voided and cannot be captured", tid=tid)
            if t.state == "declined":
                return err("Only transactions pending capture can be captured", tid=tid)
            return err("Transaction has already been captured", tid=tid)
        amount = t.authorized
        if form.get("amount", "") != "":
            amount = parse_amount(form.get("amount"))
            if amount is None or amount <= 0:
                return err("Invalid amount", tid=tid)
        if amount > t.authorized:
            return err(f"The specified amount of {fmt_amount(amount)} exceeds the authorization amount of "
                       f"{fmt_amount(t.authorized)}", tid=tid)
        t.captured = amount
        t.state = "captured"
        self.action(t, "capture", amount, True, "100", "SUCCESS")
        return R(1, "SUCCESS", 100, tid=tid, authcode=t.auth_code)

    def nmi_void(self, form, R, err) -> str:
        tid = form.get("transactionid", "")
        r = self.refunds.get(tid)
        if r is not None and r.provider == "nmi":
            if r.state == "voided":
                return err("Transaction has already been voided", tid=tid)
            if r.batch_id is not None:
                return err("Only transactions pending settlement can be voided", tid=tid)
            parent = self.txns[r.parent_id]
            r.state = "voided"
            parent.refunded -= r.amount
            parent.recompute_refund_state()
            self.action(parent, "void", r.amount, True, "100", "Transaction Void Successful", ref_id=r.id)
            return R(1, "Transaction Void Successful", 100, tid=tid)
        t = self._nmi_target(tid)
        if t is None:
            return err("Invalid Transaction ID / Object ID specified: ")
        if t.state == "voided":
            return err("Transaction has already been voided", tid=tid)
        if t.batch_id is not None or t.state == "declined":
            return err("Only transactions pending settlement can be voided", tid=tid)
        if t.refunded > 0:
            return err("Transactions with refunds cannot be voided", tid=tid)
        amt = t.captured or t.authorized
        t.state = "voided"
        t.captured = 0
        self.action(t, "void", amt, True, "100", "Transaction Void Successful")
        return R(1, "Transaction Void Successful", 100, tid=tid, authcode=t.auth_code)

    def nmi_refund(self, form, R, err) -> str:
        tid = form.get("transactionid", "")
        t = self._nmi_target(tid)
        if t is None:
            return err("Invalid Transaction ID / Object ID specified: ")
        if t.captured <= 0 or t.state not in ("captured", "settled", "partially_refunded", "refunded"):
            return err("Refunds are only allowed on captured or settled transactions")
        remaining = t.captured - t.refunded
        amount = remaining
        if form.get("amount", "") != "":
            amount = parse_amount(form.get("amount"))
            if amount is None:
                return err("Invalid amount")
        if amount <= 0 or amount > remaining:
            return err("Refund amount may not exceed the transaction balance")
        rid = self.next_nmi_id()
        r = Refund(provider="nmi", id=rid, parent_id=t.id, amount=amount, reference=form.get("orderid", ""),
                   created_at=self.now())
        self.refunds[rid] = r
        t.refund_ids.append(rid)
        t.refunded += amount
        t.recompute_refund_state()
        self.action(t, "refund", amount, True, "100", "SUCCESS", ref_id=rid)
        return R(1, "SUCCESS", 100, tid=rid)

    # ---- query.php ---------------------------------------------------------------------------
    def nmi_condition(self, t: Txn) -> str:
        if t.state == "declined":
            return "failed"
        if t.state == "voided":
            return "canceled"
        if t.state in ("authorized", "held"):
            return "pending"
        return "complete" if t.batch_id else "pendingsettlement"

    def nmi_query(self, form) -> str:
        head = '<?xml version="1.0" encoding="UTF-8"?>\n'
        if form.get("security_key", "") != NMI_SECURITY_KEY:
            return (head + "<nm_response>\n\t<error_response>Invalid Username/Password REFID:"
                    + self.refid() + "</error_response>\n</nm_response>\n")
        report_type = form.get("report_type", "")
        if report_type and report_type != "transaction":
            return head + "<nm_response>\n</nm_response>\n"
        tids = {x.strip() for x in form.get("transaction_id", "").split(",") if x.strip()}
        order_id = form.get("order_id", "")
        conds = {x.strip() for x in form.get("condition", "").split(",") if x.strip()}
        action_types = {x.strip() for x in form.get("action_type", "").split(",") if x.strip()}
        items = []  # (created_at, xml)
        for tid in self.order:
            t = self.txns[tid]
            if t.provider != "nmi":
                continue
            cond = self.nmi_condition(t)
            if tids and t.id not in tids:
                continue
            if order_id and t.reference != order_id:
                continue
            if conds and cond not in conds:
                continue
            if action_types and not any(a["type"] in action_types for a in t.actions):
                continue
            items.append((t.created_at, self._nmi_txn_xml(t.id, cond, t.reference, t.card, t.currency, t.auth_code,
                                                          t.payment_ref if t.payment == "vault" else "",
                                                          t.extra, t.actions)))
        for r in self.refunds.values():
            if r.provider != "nmi":
                continue
            parent = self.txns[r.parent_id]
            cond = "canceled" if r.state == "voided" else ("complete" if r.batch_id else "pendingsettlement")
            if tids and r.id not in tids:
                continue
            if order_id and r.reference != order_id:
                continue
            if conds and cond not in conds:
                continue
            acts = [{"type": "refund", "amount": r.amount, "at": r.created_at, "success": True,
                     "response_code": "100", "response_text": "SUCCESS"}]
            if r.state == "voided":
                acts.append({"type": "void", "amount": r.amount, "at": r.created_at, "success": True,
                             "response_code": "100", "response_text": "Transaction Void Successful"})
            if r.batch_id:
                acts.append({"type": "settle", "amount": r.amount, "at": r.settled_at or r.created_at,
                             "success": True, "response_code": "100", "response_text": ""})
            if action_types and not any(a["type"] in action_types for a in acts):
                continue
            items.append((r.created_at, self._nmi_txn_xml(r.id, cond, r.reference, parent.card, parent.currency, "",
                                                          "", {}, acts)))
        items.sort(key=lambda x: x[0])
        try:
            limit = int(form.get("result_limit", "0") or 0)
            page = int(form.get("page_number", "0") or 0)
        except ValueError:
            limit, page = 0, 0
        if limit > 0:
            start = page * limit if page > 0 else 0
            items = items[start:start + limit]
        body = "".join(x for _, x in items)
        return head + "<nm_response>\n" + body + "</nm_response>\n"

    def _nmi_txn_xml(self, tid, cond, order_id, card, currency, auth_code, vault_id, extra, actions) -> str:
        e = xml_escape
        brand = BRANDS.get(card.get("brand", "visa"), BRANDS["visa"])
        masked = brand[2] + "x" * (brand[3] - 5) + card.get("last4", "0000")
        lines = [
            "\t<transaction>",
            f"\t\t<transaction_id>{e(tid)}</transaction_id>",
            "\t\t<partial_payment_id></partial_payment_id>",
            "\t\t<partial_payment_balance></partial_payment_balance>",
            "\t\t<platform_id></platform_id>",
            "\t\t<transaction_type>cc</transaction_type>",
            f"\t\t<condition>{e(cond)}</condition>",
            f"\t\t<order_id>{e(order_id)}</order_id>",
            f"\t\t<authorization_code>{e(auth_code)}</authorization_code>",
            "\t\t<ponumber></ponumber>",
            "\t\t<order_description></order_description>",
            f"\t\t<first_name>{e(extra.get('first_name', ''))}</first_name>",
            f"\t\t<last_name>{e(extra.get('last_name', ''))}</last_name>",
            f"\t\t<customerid>{e(vault_id)}</customerid>",
            f"\t\t<email>{e(extra.get('email', ''))}</email>",
            f"\t\t<cc_number>{e(masked)}</cc_number>",
            "\t\t<cc_hash></cc_hash>",
            f"\t\t<cc_exp>{e(card.get('exp', '').replace('/', ''))}</cc_exp>",
            "\t\t<cavv></cavv>",
            "\t\t<cavv_result></cavv_result>",
            "\t\t<xid></xid>",
            "\t\t<eci></eci>",
            "\t\t<avs_response></avs_response>",
            "\t\t<csc_response></csc_response>",
            "\t\t<cardholder_auth></cardholder_auth>",
            "\t\t<cc_start_date></cc_start_date>",
            "\t\t<cc_issue_number></cc_issue_number>",
            "\t\t<check_account></check_account>",
            "\t\t<check_hash></check_hash>",
            "\t\t<check_aba></check_aba>",
            "\t\t<check_name></check_name>",
            "\t\t<account_holder_type></account_holder_type>",
            "\t\t<account_type></account_type>",
            "\t\t<sec_code></sec_code>",
            "\t\t<drivers_license_number></drivers_license_number>",
            "\t\t<drivers_license_state></drivers_license_state>",
            "\t\t<drivers_license_dob></drivers_license_dob>",
            "\t\t<social_security_number></social_security_number>",
            "\t\t<processor_id>ccprocessora</processor_id>",
            "\t\t<tax></tax>",
            f"\t\t<currency>{e(currency)}</currency>",
            "\t\t<surcharge></surcharge>",
            "\t\t<tip></tip>",
            f"\t\t<cc_bin></cc_bin>",
            f"\t\t<cc_type>{e(brand[0])}</cc_type>",
        ]
        for a in actions:
            lines += [
                "\t\t<action>",
                f"\t\t\t<amount>{fmt_amount(a['amount'])}</amount>",
                f"\t\t\t<action_type>{e(a['type'])}</action_type>",
                f"\t\t\t<date>{nmi_date(a['at'])}</date>",
                f"\t\t\t<success>{1 if a['success'] else 0}</success>",
                "\t\t\t<ip_address></ip_address>",
                "\t\t\t<source>api</source>",
                "\t\t\t<api_method>api.transact</api_method>",
                "\t\t\t<username></username>",
                f"\t\t\t<response_text>{e(a.get('response_text', ''))}</response_text>",
                "\t\t\t<batch_id>0</batch_id>",
                "\t\t\t<processor_batch_id></processor_batch_id>",
                f"\t\t\t<response_code>{e(a.get('response_code', ''))}</response_code>",
                "\t\t\t<processor_response_text></processor_response_text>",
                "\t\t\t<processor_response_code></processor_response_code>",
                "\t\t\t<device_license_number></device_license_number>",
                "\t\t\t<device_nickname></device_nickname>",
                "\t\t</action>",
            ]
        lines.append("\t</transaction>")
        return "\n".join(lines) + "\n"

    # =====================================================================================
    # Authorize.net
    # =====================================================================================

    @staticmethod
    def anet_refs(obj) -> set:
        refs = set()

        def walk(o):
            if isinstance(o, dict):
                for k, v in o.items():
                    if k in ("invoiceNumber", "refTransId", "transId", "refId") and isinstance(v, (str, int)):
                        refs.add(str(v))
                    else:
                        walk(v)
            elif isinstance(o, list):
                for x in o:
                    walk(x)

        walk(obj)
        return refs

    def anet_request(self, raw: bytes) -> tuple[dict, str]:
        """Returns (response dict, op name)."""
        if raw.startswith(BOM):
            raw = raw[len(BOM):]
        try:
            text = raw.decode("utf-8")
            doc = json.loads(text, object_pairs_hook=Pairs, parse_float=decimal.Decimal)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            return anet_error("E00003", f"Unexpected character encountered while parsing value: {e.msg if hasattr(e, 'msg') else 'invalid'}. Path '', line 1, position 1."), "invalid"
        if not isinstance(doc, Pairs) or len(doc) != 1:
            return anet_error("E00003", "Root element is missing."), "invalid"
        root, body = doc[0]
        if root not in ANET_KNOWN_ROOTS:
            return anet_error("E00003", f"The '{ANET_NS}:{root}' element is not declared."), root
        if root in ANET_TYPES:
            try:
                anet_validate(root, body, root)
            except SchemaError as e:
                return anet_error("E00003", str(e)), root
        req = to_plain(body) if isinstance(body, Pairs) else {}
        ref_id = scalar_str(req.get("refId")) if "refId" in req else None
        if ref_id is not None and len(ref_id) > 20:
            return anet_error("E00003", str(invalid_value(
                "refId", ref_id, "String", "The actual length is greater than the MaxLength value."))), root
        auth = req.get("merchantAuthentication") or {}
        if not isinstance(auth, dict) or scalar_str(auth.get("name")) != ANET_LOGIN or scalar_str(
                auth.get("transactionKey")) != ANET_TRANSACTION_KEY:
            return anet_error("E00007", "User authentication failed due to invalid authentication values.",
                              ref_id), root
        if root not in ANET_IMPLEMENTED:
            return anet_error("E00001", f"An error occurred during processing. Please try again. "
                                        f"({root} is not implemented by this sandbox)", ref_id), root
        try:
            if root == "authenticateTestRequest":
                return anet_ok({}, ref_id), root
            if root == "createTransactionRequest":
                tr = req.get("transactionRequest") or {}
                op = scalar_str(tr.get("transactionType")) if isinstance(tr, dict) else ""
                return self.anet_create_transaction(req, ref_id), f"{root}:{op}"
            if root == "getTransactionDetailsRequest":
                return self.anet_details(req, ref_id), root
            if root == "getUnsettledTransactionListRequest":
                return self.anet_unsettled(req, ref_id), root
            if root == "getSettledBatchListRequest":
                return self.anet_batches(req, ref_id), root
            if root == "getTransactionListRequest":
                return self.anet_batch_txns(req, ref_id), root
            if root == "createCustomerProfileRequest":
                return self.anet_create_profile(req, ref_id), root
            if root == "deleteCustomerProfileRequest":
                return self.anet_delete_profile(req, ref_id), root
            if root == "updateHeldTransactionRequest":
                return self.anet_update_held(req, ref_id), root
        except SchemaError as e:
            return anet_error("E00003", str(e)), root
        return anet_error("E00001", "An error occurred during processing. Please try again.", ref_id), root

    # ---- createTransactionRequest --------------------------------------------------------------
    def anet_create_transaction(self, req, ref_id) -> dict:
        tr = req["transactionRequest"]
        ttype = scalar_str(tr.get("transactionType"))
        order = tr.get("order") if isinstance(tr.get("order"), dict) else {}
        invoice = scalar_str(order.get("invoiceNumber"))
        if len(invoice) > 20:
            raise SchemaError(
                f"The '{ANET_NS}:invoiceNumber' element is invalid - The value '{invoice}' is invalid according "
                f"to its datatype 'String' - The actual length is greater than the MaxLength value.")
        amount = None
        if "amount" in tr:
            raw_amt = scalar_str(tr.get("amount"))
            if not _XS_DECIMAL_RE.match(raw_amt.strip()):
                raise SchemaError(
                    f"The '{ANET_NS}:amount' element is invalid - The value '{raw_amt}' is invalid according to "
                    f"its datatype 'http://www.w3.org/2001/XMLSchema:decimal' - The string '{raw_amt}' is not a "
                    f"valid Decimal value.")
            amount = parse_amount(raw_amt.strip().lstrip("+"))
            if amount is None:
                amount = -1  # syntactically a decimal but not a valid money amount (negative / >2 places)
        settings = {}
        ts = tr.get("transactionSettings")
        if isinstance(ts, dict):
            for s in as_list(ts.get("setting")):
                if isinstance(s, dict):
                    settings[scalar_str(s.get("settingName"))] = scalar_str(s.get("settingValue"))
        if ttype in ("authCaptureTransaction", "authOnlyTransaction"):
            return self.anet_charge(tr, ttype, amount, invoice, settings, ref_id)
        if ttype == "priorAuthCaptureTransaction":
            return self.anet_capture(tr, amount, ref_id)
        if ttype == "voidTransaction":
            return self.anet_void(tr, ref_id)
        if ttype == "refundTransaction":
            return self.anet_refund(tr, amount, invoice, ref_id)
        if ttype in ("captureOnlyTransaction", "authOnlyContinueTransaction", "authCaptureContinueTransaction",
                     "getDetailsTransaction"):
            return anet_txn_result("3", errors=[("3", f"{ttype} is not supported by this sandbox.")],
                                   ref_id=ref_id)
        return anet_txn_result("3", errors=[("3", "A valid transaction type is required.")], ref_id=ref_id)

    def _anet_payment_card(self, tr, *, peek=False):
        """Resolve the payment of a charge. Returns (kind, card, payment_ref, error_response_or_None)."""
        payment = tr.get("payment") if isinstance(tr.get("payment"), dict) else None
        profile = tr.get("profile") if isinstance(tr.get("profile"), dict) else None
        if payment and "creditCard" in payment:
            return None, None, None, "card"
        if payment and "opaqueData" in payment:
            od = payment["opaqueData"] if isinstance(payment["opaqueData"], dict) else {}
            desc = scalar_str(od.get("dataDescriptor"))
            val = scalar_str(od.get("dataValue"))
            if desc not in ("COMMON.ACCEPT.INAPP.PAYMENT",):
                return "token", None, None, "descriptor"
            card = self.peek_token_card("authorize_net", val) if peek else self.take_token("authorize_net", val)
            return "token", card, None, None if card else "ots"
        if payment:
            return None, None, None, "unsupported"
        if profile:
            pp = profile.get("paymentProfile") if isinstance(profile.get("paymentProfile"), dict) else {}
            if scalar_str(pp.get("cardCode")):
                return None, None, None, "card"
            cpid = scalar_str(profile.get("customerProfileId"))
            ppid = scalar_str(pp.get("paymentProfileId"))
            prof = self.anet_profiles.get(cpid)
            if prof is None or (ppid and ppid not in prof["payment_profiles"]):
                return "profile", None, None, "profile"
            if not ppid:
                if not prof["payment_profiles"]:
                    return "profile", None, None, "profile"
                ppid = next(iter(prof["payment_profiles"]))
            return "profile", prof["payment_profiles"][ppid], f"{cpid}/{ppid}", None
        return None, None, None, "missing"

    def anet_charge(self, tr, ttype, amount, invoice, settings, ref_id) -> dict:
        if amount is None or amount <= 0:
            return anet_txn_result("3", errors=[("5", "A valid amount is required.")], ref_id=ref_id)
        kind, ident_card, _, perr = self._anet_payment_card(tr, peek=True)
        if perr == "card":
            return anet_txn_result("3", errors=[("6", "card data not accepted by this sandbox")], ref_id=ref_id)
        if perr == "missing":
            return anet_txn_result("3", errors=[("33", "Credit card number is required.")], ref_id=ref_id)
        if perr == "unsupported":
            return anet_txn_result("3", errors=[("3", "payment method not supported by this sandbox")],
                                   ref_id=ref_id)
        if perr == "descriptor":
            return anet_error("E00003", "Invalid dataDescriptor.", ref_id)
        if perr == "profile":
            return anet_error("E00040", "The record cannot be found.", ref_id)
        # duplicate window (checked before the one-time token is consumed, so a resend is caught)
        enhanced = "duplicateWindow" in settings
        window = ANET_DEFAULT_DUP_WINDOW
        if enhanced:
            try:
                window = int(settings["duplicateWindow"] or "0")
            except ValueError:
                window = ANET_DEFAULT_DUP_WINDOW
            window = max(0, min(ANET_MAX_DUP_WINDOW, window))
        dup_key = (invoice, ttype, amount, card_identity(ident_card))
        if ident_card is not None:
            prior = self.find_dup("authorize_net", dup_key, window, include_declined=True)
            if prior is not None:
                if enhanced:
                    return anet_txn_result("3", auth_code=prior.auth_code, avs=prior.avs, cvv=prior.cvv,
                                           trans_id=prior.id, card=prior.card,
                                           errors=[("11", "A duplicate transaction has been submitted.")],
                                           ref_id=ref_id)
                return anet_txn_result("3", trans_id="0", card=prior.card,
                                       errors=[("11", "A duplicate transaction has been submitted.")], ref_id=ref_id)
        kind, card, payment_ref, perr = self._anet_payment_card(tr)
        if perr == "ots":
            return anet_ots_error(ref_id)
        if perr:
            return anet_error("E00040", "The record cannot be found.", ref_id)
        bill_to = tr.get("billTo") if isinstance(tr.get("billTo"), dict) else {}
        zip_code = scalar_str(bill_to.get("zip")).strip()
        customer = tr.get("customer") if isinstance(tr.get("customer"), dict) else {}
        t = Txn(provider="authorize_net", id=self.next_anet_id(), reference=invoice,
                type="sale" if ttype == "authCaptureTransaction" else "auth", amount=amount,
                payment=kind, payment_ref=payment_ref, card=card, created_at=self.now(),
                currency=scalar_str(tr.get("currencyCode")) or "USD", dup_key=dup_key,
                extra={"anet_type": ttype, "bill_to": {k: scalar_str(v) for k, v in bill_to.items()},
                       "customer": {k: scalar_str(v) for k, v in customer.items()},
                       "description": scalar_str((tr.get("order") or {}).get("description"))
                       if isinstance(tr.get("order"), dict) else "",
                       "customer_ip": scalar_str(tr.get("customerIP")),
                       "po_number": scalar_str(tr.get("poNumber"))})
        t.avs = "Y" if zip_code else "P"
        t.cvv = ""
        if zip_code == ANET_DECLINE_ZIP:
            t.state = "declined"
            t.reason_code = 2
            t.avs = "N"
            self.add_txn(t)
            self.action(t, t.type, amount, False, "2", "This transaction has been declined.")
            return anet_txn_result("2", avs=t.avs, trans_id=t.id, card=card,
                                   errors=[("2", "This transaction has been declined.")], ref_id=ref_id)
        t.auth_code = "".join(self.rng.choice(string.ascii_uppercase + string.digits) for _ in range(6))
        t.authorized = amount
        if zip_code == ANET_HELD_ZIP:
            t.state = "held"
            t.reason_code = 252
            self.add_txn(t)
            self.action(t, t.type, amount, True, "4", "held for review")
            return anet_txn_result("4", auth_code=t.auth_code, avs=t.avs, cavv="2", trans_id=t.id, card=card,
                                   messages=[("252", "Your order has been received. Thank you for your business!")],
                                   ref_id=ref_id)
        if t.type == "sale":
            t.captured = amount
            t.state = "captured"
        else:
            t.state = "authorized"
        t.extra["network_trans_id"] = "".join(self.rng.choice(string.ascii_uppercase + string.digits)
                                              for _ in range(27))
        self.add_txn(t)
        self.action(t, t.type, amount, True, "1", "This transaction has been approved.")
        return anet_txn_result("1", auth_code=t.auth_code, avs=t.avs, cavv="2", trans_id=t.id, card=card,
                               messages=[("1", "This transaction has been approved.")], ref_id=ref_id,
                               network_trans_id=t.extra["network_trans_id"])

    def _anet_target(self, tr) -> tuple[str, Txn | None, Refund | None]:
        ref = scalar_str(tr.get("refTransId"))
        t = self.txns.get(ref)
        if t is not None and t.provider == "authorize_net":
            return ref, t, None
        r = self.refunds.get(ref)
        if r is not None and r.provider == "authorize_net":
            return ref, None, r
        return ref, None, None

    def anet_capture(self, tr, amount, ref_id) -> dict:
        ref, t, _ = self._anet_target(tr)
        if not ref:
            return anet_txn_result("3", errors=[("33", "A valid referenced transaction ID is required.")],
                                   ref_id=ref_id)
        if t is None or t.state in ("declined", "voided", "held"):
            return anet_txn_result("3", ref_trans_id=ref, errors=[("16", "The transaction cannot be found.")],
                                   ref_id=ref_id)
        if t.state != "authorized":
            return anet_txn_result("1", auth_code=t.auth_code, trans_id=t.id, ref_trans_id=ref, card=t.card,
                                   messages=[("311", "This transaction has already been captured.")],
                                   ref_id=ref_id)
        if amount is None:
            amount = t.authorized
        if amount <= 0:
            return anet_txn_result("3", ref_trans_id=ref, errors=[("5", "A valid amount is required.")],
                                   ref_id=ref_id)
        if amount > t.authorized:
            return anet_txn_result(
                "3", ref_trans_id=ref, card=t.card,
                errors=[("47", "The amount requested for settlement cannot be greater than the original amount "
                               "authorized.")], ref_id=ref_id)
        t.captured = amount
        t.state = "captured"
        self.action(t, "capture", amount, True, "1", "This transaction has been approved.")
        return anet_txn_result("1", auth_code=t.auth_code, trans_id=t.id, ref_trans_id=ref, card=t.card,
                               messages=[("1", "This transaction has been approved.")], ref_id=ref_id)

    def anet_void(self, tr, ref_id) -> dict:
        ref, t, r = self._anet_target(tr)
        if not ref:
            return anet_txn_result("3", errors=[("33", "A valid referenced transaction ID is required.")],
                                   ref_id=ref_id)
        if r is not None:
            parent = self.txns[r.parent_id]
            if r.state == "voided":
                return anet_txn_result("1", trans_id=r.id, ref_trans_id=ref, card=parent.card,
                                       messages=[("310", "This transaction has already been voided.")],
                                       ref_id=ref_id)
            if r.batch_id is not None:
                return anet_txn_result("3", ref_trans_id=ref, errors=[("16", "The transaction cannot be found.")],
                                       ref_id=ref_id)
            r.state = "voided"
            parent.refunded -= r.amount
            parent.recompute_refund_state()
            self.action(parent, "void", r.amount, True, "1", "This transaction has been approved.", ref_id=r.id)
            return anet_txn_result("1", trans_id=r.id, ref_trans_id=ref, card=parent.card,
                                   messages=[("1", "This transaction has been approved.")], ref_id=ref_id)
        if t is None or t.state == "declined":
            return anet_txn_result("3", ref_trans_id=ref, errors=[("16", "The transaction cannot be found.")],
                                   ref_id=ref_id)
        if t.state == "voided":
            return anet_txn_result("1", auth_code=t.auth_code, trans_id=t.id, ref_trans_id=ref, card=t.card,
                                   messages=[("310", "This transaction has already been voided.")], ref_id=ref_id)
        if t.batch_id is not None:
            # settled transactions are no longer in the unsettled set a void searches
            return anet_txn_result("3", ref_trans_id=ref, errors=[("16", "The transaction cannot be found.")],
                                   ref_id=ref_id)
        amt = t.captured or t.authorized
        t.state = "voided"
        t.captured = 0
        self.action(t, "void", amt, True, "1", "This transaction has been approved.")
        return anet_txn_result("1", auth_code=t.auth_code, trans_id=t.id, ref_trans_id=ref, card=t.card,
                               messages=[("1", "This transaction has been approved.")], ref_id=ref_id)

    def anet_refund(self, tr, amount, invoice, ref_id) -> dict:
        ref, t, _ = self._anet_target(tr)
        if not ref:
            return anet_txn_result("3", errors=[("33", "A valid referenced transaction ID is required.")],
                                   ref_id=ref_id)
        if amount is None or amount <= 0:
            return anet_txn_result("3", ref_trans_id=ref, errors=[("5", "A valid amount is required.")],
                                   ref_id=ref_id)
        payment = tr.get("payment") if isinstance(tr.get("payment"), dict) else None
        profile = tr.get("profile") if isinstance(tr.get("profile"), dict) else None
        last4 = None
        if payment and isinstance(payment.get("creditCard"), dict):
            cc = payment["creditCard"]
            num = scalar_str(cc.get("cardNumber")).strip()
            digits = num.lstrip("Xx")
            if scalar_str(cc.get("cardCode")) or not digits.isdigit() or len(digits) > 4:
                return anet_txn_result("3", ref_trans_id=ref,
                                       errors=[("6", "card data not accepted by this sandbox")], ref_id=ref_id)
            last4 = digits
        elif payment and "opaqueData" in payment:
            return anet_txn_result("3", ref_trans_id=ref, errors=[(
                "54", "The referenced transaction does not meet the criteria for issuing a credit.")], ref_id=ref_id)
        elif profile is None:
            return anet_txn_result("3", ref_trans_id=ref, errors=[("33", "Credit card number is required.")],
                                   ref_id=ref_id)
        if t is None:
            return anet_txn_result("3", ref_trans_id=ref, errors=[(
                "54", "The referenced transaction does not meet the criteria for issuing a credit.")], ref_id=ref_id)
        if last4 is not None and last4 != t.card.get("last4"):
            return anet_txn_result("3", ref_trans_id=ref, errors=[(
                "54", "The referenced transaction does not meet the criteria for issuing a credit.")], ref_id=ref_id)
        if profile is not None and last4 is None:
            cpid = scalar_str(profile.get("customerProfileId"))
            if t.payment != "profile" or not (t.payment_ref or "").startswith(cpid + "/"):
                return anet_txn_result("3", ref_trans_id=ref, errors=[(
                    "54", "The referenced transaction does not meet the criteria for issuing a credit.")],
                    ref_id=ref_id)
        if t.batch_id is None or t.captured <= 0 or t.state not in ("settled", "partially_refunded", "refunded"):
            return anet_txn_result("3", ref_trans_id=ref, card=t.card, errors=[(
                "54", "The referenced transaction does not meet the criteria for issuing a credit.")], ref_id=ref_id)
        if amount > t.captured - t.refunded:
            return anet_txn_result("3", ref_trans_id=ref, card=t.card, errors=[(
                "55", "The sum of credits against the referenced transaction would exceed original debit amount.")],
                ref_id=ref_id)
        rid = self.next_anet_id()
        r = Refund(provider="authorize_net", id=rid, parent_id=t.id, amount=amount, reference=invoice,
                   created_at=self.now())
        self.refunds[rid] = r
        t.refund_ids.append(rid)
        t.refunded += amount
        t.recompute_refund_state()
        self.action(t, "refund", amount, True, "1", "This transaction has been approved.", ref_id=rid)
        return anet_txn_result("1", trans_id=rid, ref_trans_id=ref, card=t.card,
                               messages=[("1", "This transaction has been approved.")], ref_id=ref_id)

    # ---- updateHeldTransactionRequest --------------------------------------------------------
    def anet_update_held(self, req, ref_id) -> dict:
        h = req.get("heldTransactionRequest") or {}
        action = scalar_str(h.get("action"))
        ref = scalar_str(h.get("refTransId"))
        if action not in ("approve", "decline"):
            raise SchemaError(
                f"The '{ANET_NS}:action' element is invalid - The value '{action}' is invalid according to its "
                f"datatype '{ANET_NS}:afdsTransactionEnum' - The Enumeration constraint failed.")
        t = self.txns.get(ref)
        if t is None or t.provider != "authorize_net" or t.state != "held":
            return anet_error("E00040", "The record cannot be found.", ref_id)
        if action == "approve":
            if t.type == "sale":
                t.captured = t.amount
                t.state = "captured"
            else:
                t.state = "authorized"
            t.reason_code = 1
            self.action(t, "approve_review", t.amount, True, "1", "approved after review")
            resp = anet_txn_result("1", auth_code=t.auth_code, avs=t.avs, trans_id=t.id, ref_trans_id=ref,
                                   card=t.card, messages=[("1", "This transaction has been approved.")],
                                   ref_id=ref_id)
        else:
            t.state = "declined"
            t.authorized = 0
            t.reason_code = 2
            self.action(t, "decline_review", t.amount, False, "2", "declined after review")
            resp = anet_txn_result("2", trans_id=t.id, ref_trans_id=ref, card=t.card,
                                   errors=[("2", "This transaction has been declined.")], ref_id=ref_id)
        return resp

    # ---- reporting -------------------------------------------------------------------------------
    def _anet_status(self, t: Txn) -> str:
        if t.state == "declined":
            return "declined"
        if t.state == "voided":
            return "voided"
        if t.state == "held":
            return "FDSPendingReview"
        if t.state == "authorized":
            return "authorizedPendingCapture"
        return "settledSuccessfully" if t.batch_id else "capturedPendingSettlement"

    @staticmethod
    def _refund_status(r: Refund) -> str:
        if r.state == "voided":
            return "voided"
        return "refundSettledSuccessfully" if r.batch_id else "refundPendingSettlement"

    @staticmethod
    def _settle_amount(t: Txn) -> int:
        if t.state == "voided":
            return 0
        if t.captured > 0:
            return t.captured
        return t.amount

    def _summary(self, obj) -> dict:
        if isinstance(obj, Refund):
            parent = self.txns[obj.parent_id]
            card = parent.card
            d = {"transId": obj.id, "submitTimeUTC": iso_utc(obj.created_at),
                 "submitTimeLocal": iso_local(obj.created_at), "transactionStatus": self._refund_status(obj)}
            if obj.reference:
                d["invoiceNumber"] = obj.reference
            amount = obj.amount if obj.state != "voided" else 0
            bill = {}
        else:
            card = obj.card
            d = {"transId": obj.id, "submitTimeUTC": iso_utc(obj.created_at),
                 "submitTimeLocal": iso_local(obj.created_at), "transactionStatus": self._anet_status(obj)}
            if obj.reference:
                d["invoiceNumber"] = obj.reference
            bill = obj.extra.get("bill_to", {})
            amount = self._settle_amount(obj)
        if bill.get("firstName"):
            d["firstName"] = bill["firstName"]
        if bill.get("lastName"):
            d["lastName"] = bill["lastName"]
        d["accountType"] = anet_account_type(card)
        d["accountNumber"] = "XXXX" + card.get("last4", "")
        d["settleAmount"] = Money(amount)
        d["marketType"] = "eCommerce"
        d["product"] = "Card Not Present"
        if not isinstance(obj, Refund) and obj.payment == "profile" and obj.payment_ref:
            cpid, _, ppid = obj.payment_ref.partition("/")
            d["profile"] = {"customerProfileId": cpid, "customerPaymentProfileId": ppid}
        return d

    def anet_details(self, req, ref_id) -> dict:
        tid = scalar_str(req.get("transId"))
        if not tid.isdigit():
            raise SchemaError(
                f"The '{ANET_NS}:transId' element is invalid - The value '{tid}' is invalid according to its "
                f"datatype '{ANET_NS}:numericString' - The Pattern constraint failed.")
        t = self.txns.get(tid)
        r = self.refunds.get(tid)
        if (t is None or t.provider != "authorize_net") and (r is None or r.provider != "authorize_net"):
            return anet_error("E00040", "The record cannot be found.", ref_id)
        if t is not None and t.provider == "authorize_net":
            status = self._anet_status(t)
            rc = {"declined": 2, "FDSPendingReview": 4}.get(status, 1)
            reason = t.reason_code if t.reason_code else rc
            desc = {1: "Approval", 2: "Decline", 252: "Held for review by FDS"}.get(reason, "Approval")
            d = {"transId": t.id, "submitTimeUTC": iso_utc(t.created_at, ms=True),
                 "submitTimeLocal": iso_local(t.created_at, ms=True),
                 "transactionType": t.extra.get("anet_type", "authCaptureTransaction"),
                 "transactionStatus": status, "responseCode": rc, "responseReasonCode": reason,
                 "responseReasonDescription": desc}
            if t.auth_code:
                d["authCode"] = t.auth_code
            d["AVSResponse"] = t.avs or "P"
            if t.state == "held":
                d["FDSFilterAction"] = "hold"
                d["FDSFilters"] = [{"name": "Sandbox review filter (zip 46299)", "action": "hold"}]
            batch_id = t.batch_id or t.swept_batch
            if batch_id:
                b = self.batches[batch_id]
                d["batch"] = {"batchId": batch_id, "settlementTimeUTC": iso_utc(b["settled_at"], ms=True),
                              "settlementTimeLocal": iso_local(b["settled_at"], ms=True),
                              "settlementState": "settledSuccessfully"}
            order = {}
            if t.reference:
                order["invoiceNumber"] = t.reference
            if t.extra.get("description"):
                order["description"] = t.extra["description"]
            if order:
                d["order"] = order
            d["authAmount"] = Money(t.amount)
            d["settleAmount"] = Money(self._settle_amount(t))
            d["taxExempt"] = False
            d["payment"] = {"creditCard": {"cardNumber": "XXXX" + t.card.get("last4", ""),
                                           "expirationDate": "XXXX", "cardType": anet_account_type(t.card)}}
            cust = {k: v for k, v in t.extra.get("customer", {}).items() if k in ("type", "id", "email") and v}
            if cust:
                d["customer"] = cust
            bill = {k: v for k, v in t.extra.get("bill_to", {}).items() if v}
            if bill:
                d["billTo"] = bill
            d["recurringBilling"] = False
            if t.extra.get("customer_ip"):
                d["customerIP"] = t.extra["customer_ip"]
            d["product"] = "Card Not Present"
            d["marketType"] = "eCommerce"
            if t.payment == "profile" and t.payment_ref:
                cpid, _, ppid = t.payment_ref.partition("/")
                d["profile"] = {"customerProfileId": cpid, "customerPaymentProfileId": ppid}
            if t.extra.get("network_trans_id"):
                d["networkTransId"] = t.extra["network_trans_id"]
        else:
            parent = self.txns[r.parent_id]
            d = {"transId": r.id, "refTransId": parent.id, "submitTimeUTC": iso_utc(r.created_at, ms=True),
                 "submitTimeLocal": iso_local(r.created_at, ms=True), "transactionType": "refundTransaction",
                 "transactionStatus": self._refund_status(r), "responseCode": 1, "responseReasonCode": 1,
                 "responseReasonDescription": "Approval", "AVSResponse": "P"}
            if r.batch_id:
                b = self.batches[r.batch_id]
                d["batch"] = {"batchId": r.batch_id, "settlementTimeUTC": iso_utc(b["settled_at"], ms=True),
                              "settlementTimeLocal": iso_local(b["settled_at"], ms=True),
                              "settlementState": "settledSuccessfully"}
            if r.reference:
                d["order"] = {"invoiceNumber": r.reference}
            d["authAmount"] = Money(r.amount)
            d["settleAmount"] = Money(r.amount if r.state != "voided" else 0)
            d["taxExempt"] = False
            d["payment"] = {"creditCard": {"cardNumber": "XXXX" + parent.card.get("last4", ""),
                                           "expirationDate": "XXXX", "cardType": anet_account_type(parent.card)}}
            d["recurringBilling"] = False
            d["product"] = "Card Not Present"
            d["marketType"] = "eCommerce"
        out = {"transaction": d}
        return anet_ok(out, ref_id)

    def _sort_page(self, req, objs) -> tuple[list, int]:
        sorting = req.get("sorting") if isinstance(req.get("sorting"), dict) else None
        desc = False
        order_by = "submitTimeUTC"
        if sorting:
            order_by = scalar_str(sorting.get("orderBy")) or "submitTimeUTC"
            if order_by not in ("id", "submitTimeUTC"):
                raise SchemaError(
                    f"The '{ANET_NS}:orderBy' element is invalid - The value '{order_by}' is invalid according to "
                    f"its datatype '{ANET_NS}:TransactionListOrderFieldEnum' - The Enumeration constraint failed.")
            desc = scalar_str(sorting.get("orderDescending")).lower() in ("true", "1")
        if order_by == "id":
            objs.sort(key=lambda o: int(o.id), reverse=desc)
        else:
            objs.sort(key=lambda o: (o.created_at, int(o.id)), reverse=desc)
        total = len(objs)
        paging = req.get("paging") if isinstance(req.get("paging"), dict) else None
        if paging:
            try:
                limit = int(scalar_str(paging.get("limit")))
                offset = int(scalar_str(paging.get("offset")))
            except ValueError:
                raise SchemaError(f"The '{ANET_NS}:limit' element is invalid - The value is invalid according to "
                                  f"its datatype 'http://www.w3.org/2001/XMLSchema:int'.") from None
            if not 1 <= limit <= 1000:
                raise SchemaError(
                    f"The '{ANET_NS}:limit' element is invalid - The value '{limit}' is invalid according to its "
                    f"datatype 'Int' - The MaxInclusive constraint failed.")
            if not 1 <= offset <= 100000:
                raise SchemaError(
                    f"The '{ANET_NS}:offset' element is invalid - The value '{offset}' is invalid according to its "
                    f"datatype 'Int' - The MinInclusive constraint failed.")
            objs = objs[(offset - 1) * limit: offset * limit]
        else:
            objs = objs[:1000]
        return objs, total

    def anet_unsettled(self, req, ref_id) -> dict:
        status = scalar_str(req.get("status")) or "any"
        objs = []
        for tid in self.order:
            t = self.txns[tid]
            if t.provider != "authorize_net" or t.batch_id or t.swept_batch:
                continue
            if status == "pendingApproval" and t.state != "held":
                continue
            objs.append(t)
        if status != "pendingApproval":
            objs += [r for r in self.refunds.values() if r.provider == "authorize_net" and r.batch_id is None]
        objs, total = self._sort_page(req, objs)
        out = {}
        if objs:
            out["transactions"] = [self._summary(o) for o in objs]
        out["totalNumInResultSet"] = total
        return anet_ok(out, ref_id)

    def anet_batches(self, req, ref_id) -> dict:
        include_stats = scalar_str(req.get("includeStatistics")).lower() in ("true", "1")
        now = self.now()
        first = last = None
        for key in ("firstSettlementDate", "lastSettlementDate"):
            if key in req:
                v = parse_xs_datetime(req.get(key))
                if v is None:
                    raw = scalar_str(req.get(key))
                    raise SchemaError(
                        f"The '{ANET_NS}:{key}' element is invalid - The value '{raw}' is invalid according to its "
                        f"datatype 'http://www.w3.org/2001/XMLSchema:dateTime' - The string '{raw}' is not a valid "
                        f"DateTime value.")
                if key == "firstSettlementDate":
                    first = v
                else:
                    last = v
        if first is None and last is None:
            first, last = now - 86400, now
        elif first is None:
            first = last - 31 * 86400
        elif last is None:
            last = now
        if last - first > 31 * 86400 + 1:
            return anet_error("E00003", "The date range can not exceed 31 days.", ref_id)
        batches = [b for b in self.batches.values()
                   if b["provider"] == "authorize_net" and first <= b["settled_at"] <= last]
        batches.sort(key=lambda b: b["settled_at"])
        if not batches:
            return anet_ok({}, ref_id, code=("I00004", "No records found."))
        lst = []
        for b in batches:
            item = {"batchId": b["id"], "settlementTimeUTC": iso_utc(b["settled_at"]),
                    "settlementTimeLocal": iso_local(b["settled_at"]), "settlementState": "settledSuccessfully",
                    "paymentMethod": "creditCard", "marketType": "eCommerce", "product": "Card Not Present"}
            if include_stats:
                item["statistics"] = self._batch_stats(b)
            lst.append(item)
        return anet_ok({"batchList": lst}, ref_id)

    def _batch_stats(self, b) -> list:
        stats: dict[str, dict] = {}

        def slot(card):
            at = anet_account_type(card)
            if at not in stats:
                stats[at] = {"accountType": at, "chargeAmount": 0, "chargeCount": 0, "refundAmount": 0,
                             "refundCount": 0, "voidCount": 0, "declineCount": 0, "errorCount": 0}
            return stats[at]

        for tid in b["charges"]:
            t = self.txns[tid]
            s = slot(t.card)
            s["chargeAmount"] += t.captured
            s["chargeCount"] += 1
        for rid in b["refunds"]:
            r = self.refunds[rid]
            s = slot(self.txns[r.parent_id].card)
            s["refundAmount"] += r.amount
            s["refundCount"] += 1
        for xid in b["swept"]:
            if xid in self.txns:
                t = self.txns[xid]
                s = slot(t.card)
                if t.state == "voided":
                    s["voidCount"] += 1
                else:
                    s["declineCount"] += 1
            elif xid in self.refunds:
                s = slot(self.txns[self.refunds[xid].parent_id].card)
                s["voidCount"] += 1
        out = []
        for s in stats.values():
            s = dict(s)
            s["chargeAmount"] = Money(s["chargeAmount"])
            s["refundAmount"] = Money(s["refundAmount"])
            out.append(s)
        return out

    def anet_batch_txns(self, req, ref_id) -> dict:
        bid = scalar_str(req.get("batchId"))
        if bid and not bid.isdigit():
            raise SchemaError(
                f"The '{ANET_NS}:batchId' element is invalid - The value '{bid}' is invalid according to its "
                f"datatype '{ANET_NS}:numericString' - The Pattern constraint failed.")
        b = self.batches.get(bid)
        if b is None or b["provider"] != "authorize_net":
            return anet_ok({"totalNumInResultSet": 0}, ref_id, code=("I00004", "No records found."))
        objs = [self.txns[i] for i in b["charges"]] + [self.refunds[i] for i in b["refunds"]]
        for xid in b["swept"]:
            objs.append(self.txns[xid] if xid in self.txns else self.refunds[xid])
        objs, total = self._sort_page(req, objs)
        out = {}
        if objs:
            out["transactions"] = [self._summary(o) for o in objs]
        out["totalNumInResultSet"] = total
        return anet_ok(out, ref_id)

    # ---- CIM ---------------------------------------------------------------------------------
    def anet_create_profile(self, req, ref_id) -> dict:
        profile = req.get("profile") or {}
        if not isinstance(profile, dict):
            profile = {}
        mcid = scalar_str(profile.get("merchantCustomerId"))
        desc = scalar_str(profile.get("description"))
        email = scalar_str(profile.get("email"))
        if not (mcid or desc or email):
            return anet_error("E00041", "One or more fields in the profile must contain a value.", ref_id)
        for pid, p in self.anet_profiles.items():
            if (p["merchantCustomerId"], p["description"], p["email"]) == (mcid, desc, email):
                return anet_error("E00039", f"A duplicate record with ID {pid} already exists.", ref_id)
        pps = as_list(profile.get("paymentProfiles"))
        validation_mode = scalar_str(req.get("validationMode")) or "none"
        cards = []
        # check everything before consuming any nonce
        for pp in pps:
            pay = pp.get("payment") if isinstance(pp, dict) and isinstance(pp.get("payment"), dict) else {}
            if "creditCard" in pay:
                return anet_error("E00013", "card data not accepted by this sandbox", ref_id)
            od = pay.get("opaqueData") if isinstance(pay.get("opaqueData"), dict) else None
            if od is None:
                return anet_error("E00013", "Payment information is required.", ref_id)
            tok = scalar_str(od.get("dataValue"))
            rec = self.tokens.get(tok)
            if (rec is None or rec["provider"] != "authorize_net" or rec["used_at"] is not None
                    or self.now() > rec["issued_at"] + TOKEN_TTL_SECONDS):
                return anet_error("E00114", "Invalid OTS Token.", ref_id)
            cards.append((tok, pp))
        cpid = self.next_profile_id()
        prof = {"merchantCustomerId": mcid, "description": desc, "email": email, "payment_profiles": {},
                "created_at": self.now()}
        ids = []
        validations = []
        for tok, pp in cards:
            card = self.take_token("authorize_net", tok)
            ppid = self.next_profile_id()
            prof["payment_profiles"][ppid] = card
            self.anet_payment_profiles[ppid] = (cpid, card)
            ids.append(ppid)
            if validation_mode in ("testMode", "liveMode", "oldLiveMode"):
                validations.append(
                    f"1,1,1,This transaction has been approved.,{self.rng.randint(100000, 999999)},Y,"
                    f"{'0' if validation_mode == 'testMode' else self.next_anet_id()},none,Test transaction for "
                    f"ValidateCustomerPaymentProfile.,0.00,CC,auth_only,{mcid},,,,,,,,,,,{email},,,,,,,,,0.00,0.00,"
                    f"0.00,FALSE,none,,P,2,,,,,,,,,,,XXXX{card['last4']},{anet_account_type(card)},,,,,,,,,,,,,,,,,")
        self.anet_profiles[cpid] = prof
        out = {"customerProfileId": cpid, "customerPaymentProfileIdList": ids,
               "customerShippingAddressIdList": [], "validationDirectResponseList": validations}
        return anet_ok(out, ref_id)

    def anet_delete_profile(self, req, ref_id) -> dict:
        cpid = scalar_str(req.get("customerProfileId"))
        if not cpid.isdigit():
            raise SchemaError(
                f"The '{ANET_NS}:customerProfileId' element is invalid - The value '{cpid}' is invalid according to "
                f"its datatype '{ANET_NS}:numericString' - The Pattern constraint failed.")
        prof = self.anet_profiles.pop(cpid, None)
        if prof is None:
            return anet_error("E00040", "The record cannot be found.", ref_id)
        for ppid in prof["payment_profiles"]:
            self.anet_payment_profiles.pop(ppid, None)
        return anet_ok({}, ref_id)


# --------------------------------------------------------------------------------------------
# Response helpers
# --------------------------------------------------------------------------------------------


def card_identity(card):
    if not card:
        return None
    return (card.get("brand"), card.get("last4"), card.get("exp"))


def anet_account_type(card) -> str:
    return BRANDS.get((card or {}).get("brand", "visa"), BRANDS["visa"])[1]


def anet_messages(result, code, text):
    return {"resultCode": result, "message": [{"code": code, "text": text}]}


def anet_error(code, text, ref_id=None) -> dict:
    out = {}
    if ref_id is not None:
        out["refId"] = ref_id
    out["messages"] = anet_messages("Error", code, text)
    return out


def anet_ok(body: dict, ref_id=None, code=("I00001", "Successful.")) -> dict:
    out = dict(body)
    if ref_id is not None:
        out["refId"] = ref_id
    out["messages"] = anet_messages("Ok", code[0], code[1])
    return out


def anet_txn_result(response_code, *, auth_code="", avs="P", cvv="", cavv="", trans_id="0", ref_trans_id="",
                    card=None, messages=None, errors=None, ref_id=None, network_trans_id=None) -> dict:
    tr = {"responseCode": response_code, "authCode": auth_code, "avsResultCode": avs, "cvvResultCode": cvv,
          "cavvResultCode": cavv, "transId": trans_id, "refTransID": ref_trans_id, "transHash": "",
          "testRequest": "0",
          "accountNumber": ("XXXX" + card["last4"]) if card else "",
          "accountType": anet_account_type(card) if card else ""}
    if messages:
        tr["messages"] = [{"code": c, "description": d} for c, d in messages]
    if errors:
        tr["errors"] = [{"errorCode": c, "errorText": d} for c, d in errors]
    tr["transHashSha2"] = ""
    tr["SupplementalDataQualificationIndicator"] = 0
    if network_trans_id:
        tr["networkTransId"] = network_trans_id
    out = {"transactionResponse": tr}
    if ref_id is not None:
        out["refId"] = ref_id
    if response_code in ("1", "4"):
        out["messages"] = anet_messages("Ok", "I00001", "Successful.")
    else:
        out["messages"] = anet_messages("Error", "E00027", "The transaction was unsuccessful.")
    return out


def anet_ots_error(ref_id) -> dict:
    tr = {"responseCode": "3", "authCode": "", "avsResultCode": "P", "cvvResultCode": "", "cavvResultCode": "",
          "transId": "0", "refTransID": "", "transHash": "", "testRequest": "0", "accountNumber": "",
          "accountType": "", "errors": [{"errorCode": "E00114", "errorText": "Invalid OTS Token."}],
          "transHashSha2": "", "SupplementalDataQualificationIndicator": 0}
    out = {"transactionResponse": tr}
    if ref_id is not None:
        out["refId"] = ref_id
    out["messages"] = anet_messages("Error", "E00114", "Invalid OTS Token.")
    return out


_NMI_SAFE = set(string.ascii_letters + string.digits + " -_.:/()*@!,;'$?~[]")


def nmi_enc(v: str) -> str:
    """NMI echoes text almost raw (spaces included); escape only what would break the query string."""
    out = []
    for ch in str(v):
        if ch in _NMI_SAFE:
            out.append(ch)
        else:
            out.append(urllib.parse.quote(ch, safe=""))
    return "".join(out)


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, app: App, role: str):
        self.app = app
        self.role = role
        super().__init__(addr, Handler)

    def server_bind(self):
        # skip HTTPServer.server_bind's getfqdn() (reverse DNS can be slow)
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host
        self.server_port = port

    def handle_error(self, request, client_address):  # noqa: ARG002
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, BrokenPipeError, OSError)):
            return
        log(f"{self.role}: internal error: {type(exc).__name__}: {exc}")


class Listener:
    def __init__(self, app: App, role: str, port: int):
        self.app = app
        self.role = role
        self.port = port
        self.server: Server | None = None
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def start(self):
        with self.lock:
            if self.server is not None:
                return
            last = None
            for _ in range(50):
                try:
                    srv = Server(("127.0.0.1", self.port), self.app, self.role)
                    break
                except OSError as e:  # port may be briefly busy when reopening
                    last = e
                    time.sleep(0.05)
            else:
                raise last  # type: ignore[misc]
            self.port = srv.server_address[1]
            self.server = srv
            self.thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                                           name=f"listen-{self.role}", daemon=True)
            self.thread.start()

    def stop(self):
        with self.lock:
            srv = self.server
            self.server = None
        if srv is not None:
            srv.shutdown()
            srv.server_close()
        self.app.drop_connections(self.role)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 300
    server: Server

    def setup(self):
        super().setup()
        self.server.app.register_conn(self.server.role, self.connection)

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.app.unregister_conn(self.server.role, self.connection)

    def log_message(self, format, *args):  # noqa: A002 - silence default access log (may contain query)
        return

    def log_error(self, format, *args):  # noqa: A002
        return

    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def do_DELETE(self):
        self.route()

    def do_PUT(self):
        self.route()

    def do_PATCH(self):
        self.route()

    # ---- IO helpers ----------------------------------------------------------------------
    def read_body(self) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    break
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(self, status: int, ctype: str, body: bytes, extra=(), length: int | None = None):
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        head = [f"HTTP/1.1 {status} {phrase}", f"Date: {formatdate(usegmt=True)}"]
        head += list(extra)
        head.append(f"Content-Type: {ctype}")
        head.append(f"Content-Length: {len(body) if length is None else length}")
        if self.close_connection:
            head.append("Connection: close")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def send_json(self, status: int, obj):
        self.send(status, "application/json", json.dumps(obj).encode())

    def drop(self):
        """Close the connection without a response (FIN)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def reset(self):
        """Abort the connection with a TCP RST."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.rfile.close()  # release the makefile() reference so close() really closes the fd
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass

    def hold(self, seconds: float, generation: int):
        """Keep the connection open without answering until `seconds` pass or the peer goes away."""
        app = self.server.app
        deadline = time.monotonic() + seconds
        sock = self.connection
        while time.monotonic() < deadline and not app.stopping.is_set() and app.generation == generation:
            try:
                r, _, _ = select.select([sock], [], [], 0.05)
            except (OSError, ValueError):
                break
            if r:
                try:
                    data = sock.recv(1, socket.MSG_PEEK)
                except BlockingIOError:
                    continue
                except OSError:
                    break
                if not data:
                    break
                time.sleep(0.05)
        self.drop()

    # ---- routing -------------------------------------------------------------------------
    def route(self):
        role = self.server.role
        try:
            if role == "control":
                self.route_control()
            else:
                self.route_provider(role)
        except Exception as e:  # noqa: BLE001
            log(f"{role}: internal error {type(e).__name__}: {e}")
            try:
                self.close_connection = True
                self.send(500, "text/plain", b"sandbox internal error")
            except Exception:  # noqa: BLE001
                pass

    def route_provider(self, provider: str):
        app = self.server.app
        path = urllib.parse.urlsplit(self.path).path
        body = self.read_body()
        if provider == "nmi":
            if self.command != "POST" or path not in ("/api/transact.php", "/api/query.php"):
                self.send(404, "text/html; charset=iso-8859-1",
                          b"<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>404 Not Found"
                          b"</title>\n</head><body>\n<h1>Not Found</h1>\n</body></html>\n", extra=["Server: Apache"])
                return
            form = {}
            query = urllib.parse.urlsplit(self.path).query
            for src in (query, body.decode("utf-8", "replace")):
                for k, v in urllib.parse.parse_qsl(src, keep_blank_values=True):
                    form[k] = v
            refs = app.nmi_refs(form)
            op = app.nmi_op(path, form)
            reference = form.get("orderid") or form.get("order_id") or form.get("transactionid") or form.get(
                "transaction_id") or ""
        else:
            if self.command != "POST" or path != "/xml/v1/request.api":
                self.send(404, "text/html", b"<html><body><h1>404 - File or directory not found.</h1></body></html>")
                return
            try:
                loose = json.loads(body[len(BOM):] if body.startswith(BOM) else body)
            except (ValueError, UnicodeDecodeError):
                loose = None
            refs = App.anet_refs(loose)
            op = next(iter(loose)) if isinstance(loose, dict) and loose else "invalid"
            reference = ""
            if isinstance(loose, dict):
                for key in ("invoiceNumber", "refTransId", "transId"):
                    hit = _find_key(loose, key)
                    if hit:
                        reference = hit
                        break
        with app.lock:
            fault = app.match_fault(provider, refs)
            generation = app.generation
            app.record_call(provider, op, reference, fault.kind if fault else None)
        log(f"{provider}: {self.command} {path} op={op} fault={fault.kind if fault else '-'}")
        if fault is not None:
            kind = fault.kind
            if kind == "timeout_before_processing":
                self.hold((fault.delay_ms if fault.delay_ms is not None else 60000) / 1000.0, generation)
                return
            if kind == "http_500":
                self.send(500, "text/html",
                          b"<html><head><title>500 Internal Server Error</title></head><body>"
                          b"<h1>Internal Server Error</h1></body></html>",
                          extra=["Server: Apache"] if provider == "nmi" else [])
                return
            if kind == "reset":
                self.reset()
                return
            if kind == "delay":
                end = time.monotonic() + (fault.delay_ms or 0) / 1000.0
                while time.monotonic() < end and not app.stopping.is_set():
                    time.sleep(min(0.02, max(0.0, end - time.monotonic())))
        ctype, resp = self.process(provider, path, form if provider == "nmi" else body)
        if fault is not None and fault.kind == "drop_after_processing":
            self.drop()
            return
        if fault is not None and fault.kind == "timeout_after_processing":
            # Processed (the charge exists); the answer never comes before the caller gives up.
            self.hold((fault.delay_ms if fault.delay_ms is not None else 60000) / 1000.0, generation)
            return
        if fault is not None and fault.kind == "malformed":
            if provider == "nmi":
                cut = resp[: max(1, min(len(resp) - 1, 28))]
            else:
                cut = resp[: max(len(BOM) + 1, len(resp) // 2)]
            self.send(200, ctype, cut, extra=self.provider_headers(provider))
            return
        self.send(200, ctype, resp, extra=self.provider_headers(provider))

    @staticmethod
    def provider_headers(provider):
        if provider == "nmi":
            return ["Server: Apache"]
        return ["Cache-Control: private", "Access-Control-Allow-Origin: *",
                "Access-Control-Allow-Methods: PUT,OPTIONS,POST,GET",
                "Access-Control-Allow-Headers: x-requested-with,cache-control,content-type,origin,method,"
                "SOAPAction", "X-Frame-Options: SAMEORIGIN"]

    def process(self, provider, path, payload) -> tuple[str, bytes]:
        app = self.server.app
        with app.lock:
            if provider == "nmi":
                if path.endswith("query.php"):
                    return "text/xml; charset=UTF-8", app.nmi_query(payload).encode("utf-8")
                return "text/html; charset=UTF-8", app.nmi_transact(payload).encode("utf-8")
            resp, _ = app.anet_request(payload)
            return "application/json; charset=utf-8", BOM + json_dump(resp).encode("utf-8")

    # ---- control API ---------------------------------------------------------------------
    def route_control(self):
        app = self.server.app
        parts = urllib.parse.urlsplit(self.path)
        path = parts.path.rstrip("/")
        qs = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        raw = self.read_body()
        data = {}
        if raw.strip():
            try:
                data = json.loads(raw)
            except ValueError:
                self.send_json(400, {"error": "body must be JSON"})
                return
            if not isinstance(data, dict):
                self.send_json(400, {"error": "body must be a JSON object"})
                return
        m = self.command
        if path == "/_control/health" and m == "GET":
            self.send_json(200, {"ok": True})
            return
        if path == "/_control/tokens" and m == "POST":
            self.ctl_tokens(data)
            return
        if path == "/_control/faults":
            if m == "POST":
                self.ctl_add_fault(data)
                return
            if m == "GET":
                with app.lock:
                    self.send_json(200, {"faults": [f.as_json() for f in app.faults]})
                return
            if m == "DELETE":
                self.ctl_clear_faults(qs.get("provider"), None)
                return
        if path.startswith("/_control/faults/") and m == "DELETE":
            self.ctl_clear_faults(None, path.rsplit("/", 1)[1])
            return
        if path == "/_control/ledger" and m == "GET":
            with app.lock:
                self.send_json(200, app.ledger(qs.get("provider") or None, qs.get("reference")))
            return
        if path == "/_control/clock":
            if m == "POST":
                try:
                    adv = float(data.get("advance_seconds", 0))
                except (TypeError, ValueError):
                    self.send_json(400, {"error": "advance_seconds must be a number"})
                    return
                with app.lock:
                    app.offset += adv
                    now = app.now()
                self.send_json(200, {"now": iso_utc(now, ms=True), "epoch": now, "offset_seconds": app.offset})
                return
            if m == "GET":
                with app.lock:
                    now = app.now()
                self.send_json(200, {"now": iso_utc(now, ms=True), "epoch": now, "offset_seconds": app.offset})
                return
        if path == "/_control/settle" and m == "POST":
            provider = data.get("provider")
            if provider not in PROVIDERS:
                self.send_json(400, {"error": "provider must be nmi or authorize_net"})
                return
            with app.lock:
                res = app.settle(provider)
            self.send_json(200, res)
            return
        if path == "/_control/review" and m == "POST":
            self.ctl_review(data)
            return
        if path == "/_control/reset" and m == "POST":
            with app.lock:
                refused = [f.provider for f in app.faults if f.kind == "refuse"]
                app._reset_state()
                app.generation += 1
            for p in set(refused):
                app.listeners[p].start()
            self.send_json(200, {"ok": True})
            return
        self.send_json(404, {"error": f"no route {m} {path}"})

    def ctl_tokens(self, data):
        app = self.server.app
        provider = data.get("provider")
        if provider not in PROVIDERS:
            self.send_json(400, {"error": "provider must be nmi or authorize_net"})
            return
        forbidden = {"number", "card_number", "cardNumber", "ccnumber", "pan", "cvv", "cvc", "cardCode"}
        if forbidden & set(data):
            self.send_json(400, {"error": "card numbers / CVV are not accepted; send last4, brand, exp"})
            return
        last4 = str(data.get("last4", "1111"))
        if not re.fullmatch(r"\d{4}", last4):
            self.send_json(400, {"error": "last4 must be exactly 4 digits"})
            return
        brand = str(data.get("brand", "visa")).lower().replace(" ", "")
        brand = BRAND_ALIASES.get(brand, brand)
        if brand not in BRANDS:
            self.send_json(400, {"error": f"brand must be one of {sorted(BRANDS)}"})
            return
        exp = str(data.get("exp", "12/30"))
        mexp = re.fullmatch(r"(\d{2})/?(\d{2})", exp)
        if not mexp or not 1 <= int(mexp.group(1)) <= 12:
            self.send_json(400, {"error": "exp must be MM/YY"})
            return
        card = {"last4": last4, "brand": brand, "exp": f"{mexp.group(1)}/{mexp.group(2)}"}
        with app.lock:
            tok = app.issue_token(provider, card)
            expires = app.tokens[tok]["issued_at"] + TOKEN_TTL_SECONDS
        self.send_json(200, {"token": tok, "provider": provider, "expires_at": iso_utc(expires, ms=True)})

    def ctl_add_fault(self, data):
        app = self.server.app
        provider = data.get("provider")
        kind = data.get("kind")
        if provider not in PROVIDERS:
            self.send_json(400, {"error": "provider must be nmi or authorize_net"})
            return
        if kind not in FAULT_KINDS:
            self.send_json(400, {"error": f"kind must be one of {list(FAULT_KINDS)}"})
            return
        reference = data.get("reference")
        if reference is not None:
            reference = str(reference)
        count = data.get("count")
        if count is not None:
            if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                self.send_json(400, {"error": "count must be a positive integer"})
                return
        delay_ms = data.get("delay_ms")
        if delay_ms is not None and (not isinstance(delay_ms, (int, float)) or delay_ms < 0):
            self.send_json(400, {"error": "delay_ms must be a non-negative number"})
            return
        if kind == "refuse":
            count = None
            reference = None
        with app.lock:
            f = app.add_fault(provider, kind, reference, count, delay_ms)
        if kind == "refuse":
            app.listeners[provider].stop()
        self.send_json(200, {"id": f.id, **f.as_json()})

    def ctl_clear_faults(self, provider, fid):
        app = self.server.app
        if provider is not None and provider not in PROVIDERS:
            self.send_json(400, {"error": "provider must be nmi or authorize_net"})
            return
        with app.lock:
            removed = [f for f in app.faults
                       if (fid is None or f.id == fid) and (provider is None or f.provider == provider)]
            app.faults = [f for f in app.faults if f not in removed]
            reopen = {f.provider for f in removed if f.kind == "refuse" and not app.refuse_active(f.provider)}
        for p in reopen:
            app.listeners[p].start()
        if fid is not None and not removed:
            self.send_json(404, {"error": f"no fault {fid}"})
            return
        self.send_json(200, {"cleared": len(removed)})

    def ctl_review(self, data):
        """Sandbox shortcut for updateHeldTransactionRequest (approve/decline a held Authorize.net charge)."""
        app = self.server.app
        tid = str(data.get("id", ""))
        action = data.get("action")
        if action not in ("approve", "decline"):
            self.send_json(400, {"error": "action must be approve or decline"})
            return
        with app.lock:
            resp = app.anet_update_held({"heldTransactionRequest": {"action": action, "refTransId": tid}}, None)
        if resp["messages"]["resultCode"] != "Ok" and "transactionResponse" not in resp:
            self.send_json(404, {"error": "no held authorize_net transaction with that id"})
            return
        self.send_json(200, {"id": tid, "action": action})


def _find_key(obj, key):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == key and isinstance(v, (str, int)):
                return str(v)
            hit = _find_key(v, key)
            if hit:
                return hit
    elif isinstance(obj, list):
        for x in obj:
            hit = _find_key(x, key)
            if hit:
                return hit
    return ""


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nmi-port", type=int, default=0)
    ap.add_argument("--authorize-net-port", type=int, default=0)
    ap.add_argument("--control-port", type=int, default=0)
    args = ap.parse_args(argv)

    app = App()
    ports = {"control": args.control_port, "nmi": args.nmi_port, "authorize_net": args.authorize_net_port}
    for role, port in ports.items():
        lst = Listener(app, role, port)
        lst.start()
        app.listeners[role] = lst

    stop = threading.Event()

    def on_signal(signum, frame):  # noqa: ARG001
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    L = app.listeners
    sys.stdout.write(f"sandboxes listening control={L['control'].url} nmi={L['nmi'].url} "
                     f"authorize_net={L['authorize_net'].url}\n")
    sys.stdout.flush()
    log("NMI key=<configured> Authorize.net login=<configured>; Ctrl-C / SIGTERM to stop")
    while not stop.wait(0.5):
        pass
    app.stopping.set()
    for lst in L.values():
        try:
            lst.stop()
        except Exception:  # noqa: BLE001
            pass
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
