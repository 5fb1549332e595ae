"""The key repository driver: read, make hold exactly given keys, check mode, refusals."""

from __future__ import annotations

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.identity.key_repository import (
    KeyRepositoryError,
    ensure,
    read,
)

K0, K1, K2 = "a" * 43 + "=", "b" * 43 + "=", "c" * 43 + "="


def test_ensure_writes_then_prunes_and_is_idempotent(tmp_path):
    repo = tmp_path / "keys"
    out = ensure(str(repo), {"0": K0, "1": K1})
    assert out.changed and out.actions == [f"create {repo}", "write key 0", "write key 1"]
    assert read(str(repo)) == {"0": K0, "1": K1}
    assert oct(repo.stat().st_mode & 0o777) == "0o700" and oct((repo / "1").stat().st_mode & 0o777) == "0o600"
    assert not ensure(str(repo), {"0": K0, "1": K1 + "\n"}).changed
    out = ensure(str(repo), {"0": K2, "2": K0})
    assert out.actions == ["write key 0", "write key 2", "remove key 1"]
    assert read(str(repo)) == {"0": K2, "2": K0}
    assert K0 not in str(out.diff()) and K2 not in str(out.diff())  # fingerprints only


def test_check_mode_and_refusals_change_nothing(tmp_path):
    repo = tmp_path / "keys"
    ensure(str(repo), {"0": K0})
    out = ensure(str(repo), {"1": K1}, check=True)
    assert out.changed and out.actions == ["write key 1", "remove key 0"]
    assert read(str(repo)) == {"0": K0}
    with pytest.raises(KeyRepositoryError, match=r"key names must be integers .* not \['primary'\]"):
        ensure(str(repo), {"primary": K1})
    (tmp_path / "file").write_text("x")
    with pytest.raises(KeyRepositoryError, match="exists and is not a directory"):
        ensure(str(tmp_path / "file"), {"0": K0})
    assert read(str(repo)) == {"0": K0} and read(str(tmp_path / "missing")) == {}
