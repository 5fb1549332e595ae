"""The offline state file (stack_state's driver): exact records, check mode, idempotence."""

from __future__ import annotations

import stat

import pytest

from stratus.orchestration import offline_state

pytestmark = pytest.mark.orchestration
drv = offline_state._driver


def rec(**resources):
    return {"resources": {n: {"id": i, "type": "OS::Heat::Value", "position": p, "hosts": ["controller"],
                              "properties": {"value": n}, "attributes": {"value": n}}
                          for p, (n, i) in enumerate(resources.items())},
            "outputs": {"o": 1}}


def test_present_is_exact_idempotent_and_check_mode_writes_nothing(tmp_path):
    path = str(tmp_path / "d" / "s.sqlite")
    changed, before, after, actions = drv.ensure_present(path, "web", rec(a="1", b="2"), check=True)
    assert changed and before == {} and actions == ["record a (OS::Heat::Value)", "record b (OS::Heat::Value)"]
    assert offline_state.read(path, "web").resources == {}  # check mode: no file made
    assert drv.ensure_present(path, "web", rec(a="1", b="2"))[0]
    assert stat.S_IMODE((tmp_path / "d" / "s.sqlite").stat().st_mode) == 0o600
    assert not drv.ensure_present(path, "web", rec(a="1", b="2"))[0]
    changed, _, after, actions = drv.ensure_present(path, "web", rec(a="1"))
    assert changed and actions == ["forget b"] and list(after["resources"]) == ["a"]
    drv.ensure_present(path, "db", rec(x="9"))
    assert offline_state.stacks(path) == ["db", "web"]
    assert offline_state.read(path, "web").resources["a"].id == "1"
    assert drv.ensure_absent(path, "web")[0] and not drv.ensure_absent(path, "web")[0]
    assert offline_state.stacks(path) == ["db"]


def test_a_file_that_is_not_sqlite_is_a_clear_error(tmp_path):
    path = tmp_path / "s.sqlite"
    path.write_text("not a database")
    with pytest.raises(offline_state.StackStateError, match="cannot be read"):
        offline_state.read(path, "web")
