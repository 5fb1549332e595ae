"""Port MAC addresses as Neutron gives them: the configured ``base_mac``'s leading
octets and random trailing ones, unique per network (``network_ports``' constraint
decides; the caller retries with another MAC when its insert fails), or a MAC the
request names (checked to be a unicast, non-zero Ethernet address)."""

from __future__ import annotations

import re
import secrets

from stratus.errors import BadRequest

_MAC = re.compile(r"^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$")
ATTEMPTS = 16  # Neutron's mac_generation_retries


def generate(base_mac: str) -> str:
    """A random MAC under ``base_mac`` (``fa:16:3e:00:00:00``): its first three octets
    are kept, and its fourth too when it is not ``00`` (Neutron's ``get_random_mac``)."""
    base = normalize(base_mac, what="network_base_mac").split(":")
    keep = 4 if base[3] != "00" else 3
    return ":".join(base[:keep] + [f"{secrets.randbits(8):02x}" for _ in range(6 - keep)])


def normalize(value, *, what: str = "mac_address") -> str:
    """``value`` as ``aa:bb:cc:dd:ee:ff``; 400 for anything that is not a unicast MAC."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if not _MAC.match(text):
        raise BadRequest(f"Invalid input for {what}. Reason: '{value}' is not a valid MAC address.",
                         type="InvalidInput")
    digits = re.sub(r"[:-]", "", text)
    if int(digits, 16) == 0 or int(digits[:2], 16) & 1:
        raise BadRequest(f"Invalid input for {what}. Reason: '{value}' is not a valid MAC address "
                         "(it is all zeros or a multicast/broadcast address; give a unicast MAC).",
                         type="InvalidInput")
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))
