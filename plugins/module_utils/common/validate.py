"""Validators every area shares: MAC and IP addresses, prefixes, resource ids, device
names and paths that must stay inside a base directory.

Each takes ``error``, the caller's typed exception class (``InvalidInput`` of compute,
network, ``InvalidRequest`` of storage), so an area's handlers keep catching their own
errors; the default is this module's ``InvalidValue`` (a ``ValueError``). Every message
names what was wrong and what is expected.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path


class InvalidValue(ValueError):
    """A value from a request that is not usable on a host."""


_MAC = re.compile(r"^([0-9a-fA-F]{2})([:-]?)([0-9a-fA-F]{2})(\2[0-9a-fA-F]{2}){4}$")
_RESOURCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_DEVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")
# Bytes that end a line or a field in the files and rule sets drivers write.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def mac(value, *, what: str = "MAC address", error: type[Exception] = InvalidValue) -> str:
    """``AA-BB-..`` / ``aabb..`` / ``AA:BB:..`` -> ``aa:bb:cc:dd:ee:ff``."""
    text = str(value or "").strip()
    if not _MAC.match(text):
        raise error(f"{what} {value!r} is not a MAC address (expected like fa:16:3e:12:34:56)")
    digits = re.sub(r"[:-]", "", text).lower()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _no_scope(text: str, what: str, value, error: type[Exception]) -> None:
    if "%" in text:
        raise error(f"{what} {value!r} has a scope id ('%...'); give the address without it")


def ip_address(value, *, what: str = "IP address", version: int | None = None,
               error: type[Exception] = InvalidValue) -> str:
    """An IPv4 or IPv6 address in canonical form, without a scope id."""
    text = str(value if value is not None else "").strip()
    _no_scope(text, what, value, error)
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise error(f"{what} {value!r} is not an IP address (expected like 10.0.0.5 or 2001:db8::5)") from None
    if version is not None and addr.version != version:
        raise error(f"{what} {value!r} is not an IPv{version} address")
    return str(addr)


def ip_network(value, *, what: str = "prefix", strict: bool = True,
               error: type[Exception] = InvalidValue) -> str:
    """A network (``10.0.0.0/24``) in canonical form; with ``strict=False`` an
    interface (``10.0.0.5/24``) is kept as given. A bare address becomes /32 or /128."""
    text = str(value if value is not None else "").strip()
    _no_scope(text, what, value, error)
    try:
        if strict:
            return str(ipaddress.ip_network(text, strict=True))
        return str(ipaddress.ip_interface(text))
    except ValueError:
        raise error(f"{what} {value!r} is not a CIDR (expected like 10.0.0.0/24)") from None


def resource_id(value, *, what: str = "id", error: type[Exception] = InvalidValue) -> str:
    """An id that is safe as one path component, a file name and a config token:
    letters, digits, '.', '_' and '-', starting with a letter or digit, at most 128."""
    text = "" if value is None else str(value)
    if not _RESOURCE_ID.match(text):
        raise error(
            f"{what} {value!r} is not a valid id: use 1 to 128 letters, digits, '.', '_' or '-' "
            "starting with a letter or digit (no '/', spaces or control characters)"
        )
    return text


def device_name(value, *, what: str = "device name", error: type[Exception] = InvalidValue) -> str:
    """A Linux network device name: 1 to 15 of letters, digits, '_', '.', '-'."""
    text = "" if value is None else str(value)
    if not _DEVICE.match(text):
        raise error(
            f"{what} {value!r} is not a device name: use 1 to 15 letters, digits, '_', '.' or '-' "
            "starting with a letter or digit"
        )
    return text


def single_line(value, *, what: str = "value", forbidden: str = "",
                error: type[Exception] = InvalidValue) -> str:
    """``value`` as text with no control characters (newlines end a config line) and
    none of ``forbidden`` (a file format's separators)."""
    text = "" if value is None else str(value)
    if _CONTROL.search(text):
        raise error(f"{what} {value!r} holds a newline or another control character; remove it")
    bad = sorted({c for c in text if c in forbidden})
    if bad:
        raise error(f"{what} {value!r} may not hold {' '.join(repr(c) for c in bad)}")
    return text


def path_under(base, *parts, what: str = "path", error: type[Exception] = InvalidValue) -> Path:
    """``base/parts...`` resolved, refused unless it stays strictly inside ``base``
    (no ``..``, no absolute part, no symlink that leads out)."""
    root = Path(os.path.realpath(base))
    for part in parts:
        text = str(part)
        if not text or text.startswith("/") or "\x00" in text:
            raise error(f"{what} {part!r} must be a relative name inside {root}")
    candidate = Path(os.path.realpath(root.joinpath(*map(str, parts))))
    if candidate == root or root not in candidate.parents:
        raise error(f"{what} {'/'.join(map(str, parts))!r} leads outside {root}; use a name inside it")
    return candidate


def inside(path, base, *, what: str = "path", error: type[Exception] = InvalidValue) -> Path:
    """An absolute ``path`` refused unless it resolves strictly inside ``base``."""
    text = str(path or "")
    if not text.startswith("/"):
        raise error(f"{what} {path!r} must be an absolute path inside {base}")
    root = Path(os.path.realpath(base))
    resolved = Path(os.path.realpath(text))
    if resolved == root or root not in resolved.parents:
        raise error(f"{what} {path!r} is outside {root}; only paths inside it are allowed")
    return resolved


_DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def hostname(value, *, what: str = "hostname", dots: bool = False,
             error: type[Exception] = InvalidValue) -> str:
    """A DNS host name: labels of 1 to 63 letters, digits or '-' (not at either end);
    with ``dots`` a dotted name (a domain) of at most 253 characters, else one label."""
    text = "" if value is None else str(value)
    labels = text.split(".") if dots else [text]
    if len(text) > 253 or not all(_DNS_LABEL.match(label) for label in labels):
        shape = "dot-separated labels" if dots else "one label (no dots)"
        raise error(f"{what} {value!r} is not a DNS name: use {shape} of 1 to 63 letters, "
                    "digits or '-' (not first or last)")
    return text
