"""The Fernet key repository: setup, rotation as keystone-manage does it, decryption
with secondary and staged keys."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from stratus.identity.fernet import FernetKeys, InvalidToken, KeyRepositoryError

pytestmark = pytest.mark.identity


def test_setup_creates_staged_and_primary_once(tmp_path):
    keys = FernetKeys(tmp_path / "k")
    assert keys.setup() is True
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == ["0", "1"]
    assert oct((tmp_path / "k" / "1").stat().st_mode & 0o777) == "0o600"
    assert keys.setup() is False


def test_rotation_keeps_tokens_for_max_active_minus_one_rotations(tmp_path):
    keys = FernetKeys(tmp_path)
    keys.setup()
    staged = (tmp_path / "0").read_bytes()
    token = keys.encrypt(b"payload")
    assert keys.rotate(max_active_keys=3) == [0, 1, 2]
    # the old staged key is the new primary: new tokens are encrypted with it
    assert (tmp_path / "2").read_bytes() == staged
    assert keys.decrypt(token) == b"payload"
    assert keys.rotate(max_active_keys=3) == [0, 2, 3]  # key 1 pruned
    with pytest.raises(InvalidToken):
        keys.decrypt(token)


def test_staged_key_decrypts_before_promotion(tmp_path):
    keys = FernetKeys(tmp_path)
    keys.setup()
    from_staged = Fernet((tmp_path / "0").read_bytes()).encrypt(b"early").decode()
    assert keys.decrypt(from_staged) == b"early"


def test_missing_repository_is_a_clear_error(tmp_path):
    with pytest.raises(KeyRepositoryError, match="stratus bootstrap"):
        FernetKeys(tmp_path / "absent").encrypt(b"x")
