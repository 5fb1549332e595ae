from tests.helpers.ansible import run_module


def test_run_module_returns_the_host_result():
    result = run_module("ansible.builtin.ping", {"data": "stratus"})
    assert not result.failed
    assert result["ping"] == "stratus"


def test_run_module_keeps_diff_and_failures(tmp_path):
    dest = tmp_path / "f"
    result = run_module("ansible.builtin.copy", {"content": "x\n", "dest": str(dest)})
    assert result.changed and "diff" in result
    failed = run_module("ansible.builtin.fail", {"msg": "bad input"})
    assert failed.failed and failed.msg == "bad input"
