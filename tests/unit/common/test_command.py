import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.common.command import (
    CommandFailed,
    check_output,
    subprocess_run,
)


def test_subprocess_run_passes_stdin_and_returns_rc_out_err():
    assert subprocess_run(["sh", "-c", "cat; echo oops >&2; exit 3"], data="hi") == (3, "hi", "oops\n")


def test_check_output_raises_with_argv_rc_and_stderr():
    with pytest.raises(CommandFailed) as info:
        check_output(subprocess_run, ["sh", "-c", "echo nope >&2; exit 2"])
    assert info.value.argv[0] == "sh" and info.value.rc == 2 and info.value.stderr == "nope"
    assert "rc=2" in str(info.value) and "nope" in str(info.value)


def test_check_output_uses_the_callers_error_type():
    class Mine(CommandFailed):
        pass

    with pytest.raises(Mine):
        check_output(lambda argv: (1, "", "bad"), ["x"], error=Mine)
    assert check_output(lambda argv: (0, "out", ""), ["x"]) == "out"
