"""The template corpus (tests/orchestration/templates): every template meant to be valid
(not ``error-*``) validates and compiles offline, or, when a resource of it lives in the
controller (servers, networks, volumes, records), is refused with the one clear error
naming that resource; every ``error-*`` template fails with one line naming the
template and a path, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from stratus.cli.main import main

pytestmark = pytest.mark.orchestration

TEMPLATES = Path(__file__).resolve().parents[2] / "orchestration" / "templates"
VALID = sorted(p for p in TEMPLATES.glob("*.yaml") if not p.name.startswith("error-"))
ERRORS = sorted(TEMPLATES.glob("error-*.yaml"))


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_templates_compile_or_need_the_controller(path, tmp_path, capsys):
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err
    assert "valid;" in capsys.readouterr().out
    code = main(["compile", str(path), "--state", str(tmp_path / "s.sqlite"), "-o", str(tmp_path / "p.yml")])
    err = capsys.readouterr().err
    if code:
        assert err.startswith(f"stratus compile: {path}: resources.") and ".type: " in err, err
        assert "needs the controller" in err and err.count("\n") == 1, err
    else:
        text = (tmp_path / "p.yml").read_text()
        assert "stratus.cloud.stack_state:" in text  # the playbook records its state last


@pytest.mark.parametrize("path", ERRORS, ids=lambda p: p.stem)
def test_error_templates_fail_with_one_line(path, capsys):
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"stratus validate: {path}: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
