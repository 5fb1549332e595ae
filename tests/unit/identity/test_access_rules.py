"""Access-rule matching (keystonemiddleware's path patterns) and the token payload with
a trust id."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stratus.errors import BadRequest
from stratus.identity import access_rules
from stratus.identity.tokens import TokenData

RULES = [
    {"id": "1", "service": "compute", "method": "GET", "path": "/v2.1/servers/*"},
    {"id": "2", "service": "volumev3", "method": "POST", "path": "/v3/{project_id}/volumes"},
    {"id": "3", "service": "image", "method": "GET", "path": "/v2/images/**"},
]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/compute/v2.1/servers/abc", True),
        ("GET", "/compute/v2.1/servers", False),  # * needs one segment
        ("GET", "/compute/v2.1/servers/abc/action", False),  # and only one
        ("DELETE", "/compute/v2.1/servers/abc", False),  # another method
        ("POST", "/volume/v3/p1/volumes", True),  # volume mount answers for volumev3
        ("POST", "/volume/v3/p1/snapshots", False),
        ("GET", "/image/v2/images/x/file", True),  # ** any depth
        ("GET", "/network/v2.0/networks", False),  # another service
        ("GET", "/identity/v3/auth/tokens", False),
    ],
)
def test_allows_matches_service_method_and_path(method, path, allowed):
    assert access_rules.allows(RULES, method, path) is allowed


def test_parse_gives_ids_reuses_known_rules_and_names_bad_fields():
    known = [{"id": "k1", "service": "image", "method": "GET", "path": "/v2/images"}]
    out = access_rules.parse(
        [{"service": "image", "method": "GET", "path": "/v2/images"},
         {"service": "compute", "method": "GET", "path": "/v2.1/servers"}, {"id": "k1"}],
        known,
    )
    assert out[0]["id"] == "k1" and out[2] == known[0] and out[1]["id"] not in ("k1", None)
    with pytest.raises(BadRequest, match=r"access_rules\[0\]\.method"):
        access_rules.parse([{"service": "image", "method": "get", "path": "/v2"}], [])


def test_token_payload_round_trips_with_and_without_a_trust():
    now = datetime.now(UTC).replace(microsecond=0)
    plain = TokenData("u", ["password"], "p", "pid", now, now, ["a"])
    trust = TokenData("u", ["password"], "p", "pid", now, now, ["a"], None, "tid")
    assert TokenData.unpack(plain.pack()) == plain
    assert TokenData.unpack(trust.pack()) == trust
    assert len(plain.pack()) < len(trust.pack())  # tokens without a trust keep their size
