"""EC2 request signatures, as Keystone's ec2tokens checks them: a client (boto, Heat's
signal URLs, keystoneclient's Ec2Signer) signed a request with the secret of an EC2
credential and sends what it signed — ``access``, ``signature``, ``host``, ``verb``,
``path``, ``params`` and for v4 ``headers`` and ``body_hash`` — to ``POST
/v3/ec2tokens``. Signature versions 2 (HmacSHA256 or HmacSHA1 over the canonical query)
and 4 (AWS4-HMAC-SHA256, from the Authorization header or the X-Amz-* query
parameters) are checked; 0 and 1 are refused as insecure.

Requests carrying a time (v2 ``Timestamp`` or ``Expires``, v4 ``X-Amz-Date``) are
refused when older than ``TTL`` (Keystone's [credential] auth_ttl, 15 minutes) or
expired.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

TTL = timedelta(minutes=15)
V4 = "AWS4-HMAC-SHA256"


class SignatureError(Exception):
    """The request is not signed right (message says what)."""


def _utf8(value) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def canonical_query(params: dict) -> str:
    return "&".join(
        quote(str(k), safe="") + "=" + quote(_utf8(params[k]), safe="-_~")
        for k in sorted(params)
    )


def _v2(secret: str, creds: dict, host: str) -> str:
    params = dict(creds["params"])
    method = params.get("SignatureMethod", "HmacSHA256")
    digest = {"HmacSHA256": hashlib.sha256, "HmacSHA1": hashlib.sha1}.get(method)
    if digest is None:
        raise SignatureError(f"Unsupported SignatureMethod {method!r}: use HmacSHA256.")
    text = f"{creds['verb']}\n{host}\n{creds['path']}\n{canonical_query(params)}"
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), digest).digest()).decode()


def _auth_param(creds: dict, name: str) -> str | None:
    auth = (creds.get("headers") or {}).get("Authorization")
    if auth is not None:
        for part in auth[len(V4):].split(","):
            k, _, v = part.strip().partition("=")
            if k == name:
                return v
        return None
    return creds["params"].get(f"X-Amz-{name}")


def _v4(secret: str, creds: dict, host: str) -> str:  # noqa: ARG001 - v4 signs the Host header
    headers = creds.get("headers") or {}
    params = creds["params"]
    signed = _auth_param(creds, "SignedHeaders")
    credential = _auth_param(creds, "Credential")
    if not signed or not credential or credential.count("/") < 4:
        raise SignatureError(
            "A v4 signature needs Credential=ACCESS/DATE/REGION/SERVICE/aws4_request and "
            "SignedHeaders in the Authorization header or the X-Amz-* parameters."
        )
    lower = {k.lower().strip(): str(v).strip() for k, v in headers.items()}
    header_lines = "".join(f"{h}:{lower[h]}\n" for h in signed.split(";") if h in lower)
    query = "" if creds["verb"].upper() == "POST" else canonical_query(
        {k: v for k, v in params.items() if k != "X-Amz-Signature"})
    request = "\n".join((creds["verb"].upper(), creds["path"], query, header_lines, signed,
                         creds.get("body_hash") or ""))
    _, date, region, service = credential.split("/")[:4]
    amz_date = headers.get("X-Amz-Date") or params.get("X-Amz-Date") or ""
    if not amz_date.startswith(date):
        raise SignatureError("Request date mismatch error: X-Amz-Date is not the credential's date.")
    scope = "/".join(credential.split("/")[1:])
    to_sign = "\n".join((V4, amz_date, scope, hashlib.sha256(request.encode()).hexdigest()))
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _is_v4(creds: dict) -> bool:
    auth = (creds.get("headers") or {}).get("Authorization", "")
    return auth.startswith(V4) or creds["params"].get("X-Amz-Algorithm") == V4


def _parse_time(value: str, fmt: str | None = None) -> datetime:
    try:
        if fmt:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return t if t.tzinfo else t.replace(tzinfo=UTC)
    except ValueError:
        raise SignatureError(f"Invalid request time {value!r}.") from None


def check_time(creds: dict, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    params = creds["params"]
    headers = creds.get("headers") or {}
    if "Expires" in params:
        if _parse_time(params["Expires"]) < now:
            raise SignatureError("Signature expired: the request's Expires has passed.")
        return
    stamp = None
    if "Timestamp" in params:
        stamp = _parse_time(params["Timestamp"])
    elif headers.get("X-Amz-Date") or params.get("X-Amz-Date"):
        stamp = _parse_time(headers.get("X-Amz-Date") or params["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    if stamp is not None and not (now - TTL <= stamp <= now + TTL):
        raise SignatureError(
            "Signature expired: the request was signed more than 15 minutes from now; "
            "sign it again."
        )


def verify(secret: str, creds: dict) -> None:
    """Raise SignatureError unless ``creds['signature']`` signs the request with
    ``secret``. Like Keystone, a host given with a port is tried without it too (some
    clients sign the bare host name)."""
    params = {k: v for k, v in (creds.get("params") or {}).items() if k != "Signature"}
    creds = {**creds, "params": params}
    version = params.get("SignatureVersion")
    if version == "2":
        sign = _v2
    elif _is_v4(creds):
        sign = _v4
    elif version in ("0", "1"):
        raise SignatureError(f"Signature version {version} is insecure and not accepted: use 2 or 4.")
    elif version is not None:
        raise SignatureError(f"Unknown signature version: {version}.")
    else:
        raise SignatureError("Unexpected signature format: give SignatureVersion=2 or a v4 signature.")
    check_time(creds)
    given = str(creds["signature"])
    host = str(creds["host"])
    hosts = [host] + ([host.rsplit(":", 1)[0]] if ":" in host else [])
    for h in hosts:
        if hmac.compare_digest(sign(secret, creds, h).encode(), given.encode()):
            return
    raise SignatureError("Invalid EC2 signature.")
