"""TOTP passcodes (RFC 6238's SHA-1 vector) and the user-option checks."""

from __future__ import annotations

import base64

import pytest

from stratus.errors import BadRequest
from stratus.identity.security import validate_options
from stratus.identity.totp import passcodes


def test_passcodes_follow_rfc6238():
    seed = base64.b32encode(b"12345678901234567890").decode().rstrip("=")
    # RFC 6238 appendix B: T=59 -> 94287082, T=1111111109 -> 07081804 (8 digits; 6 kept)
    assert passcodes(seed, now=59) == ["287082"]
    assert passcodes(seed, 1, now=1111111109) == ["081804", passcodes(seed, now=1111111079)[0]]


@pytest.mark.parametrize("bad", [
    [],
    {"nope": True},
    {"lock_password": 1},
    {"multi_factor_auth_rules": [[]]},
    {"multi_factor_auth_rules": [["password", "password"]]},
    {"multi_factor_auth_rules": [["totp"], ["totp"]]},
    {"multi_factor_auth_rules": ["password"]},
])
def test_bad_options_are_refused(bad):
    with pytest.raises(BadRequest, match="options"):
        validate_options(bad)


def test_good_options_pass():
    ok = {"lock_password": True, "ignore_password_expiry": None,
          "multi_factor_auth_rules": [["password", "totp"], ["password"]]}
    assert validate_options(ok) == ok
