"""``stratus compile`` + plain ``ansible-playbook``: no controller, state in a local
SQLite file. A second run changes nothing; a changed template re-compiled updates the
same resources (same ids, same random secret) and deletes the one it dropped."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stratus.cli.main import main
from stratus.orchestration import offline_state

pytestmark = [pytest.mark.orchestration]

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "tests" / "orchestration" / "templates" / "h3-offline-files.yaml"
ENVIRONMENT = Path(__file__).parent / "h3-env.yaml"  # greeting: hi
STACK = "files"




def playbook(path: Path, tmp: Path) -> dict[str, int]:
    """Run ``ansible-playbook -i inventory path`` as a person would; the recap's counts."""
    inventory = tmp / "inventory.yml"
    if not inventory.exists():
        inventory.write_text(yaml.safe_dump({"all": {"children": {"controller": {"hosts": {"localhost": {
            "ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}}}}}}))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "ANSIBLE_COLLECTIONS_PATH": str(REPO / "collections"), "ANSIBLE_NOCOWS": "1"}
    run = subprocess.run(["ansible-playbook", "-i", str(inventory), str(path)], cwd=tmp, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+).*failed=(\d+)", run.stdout)
    assert recap, run.stdout[-2000:]
    return {"ok": int(recap[1]), "changed": int(recap[2]), "failed": int(recap[3]), "out": run.stdout}


def compile_to(tmp: Path, template: Path, out: str, *extra: str, capsys) -> str:
    """``stratus compile`` (in this process: the CLI's own entry point)."""
    code = main(["compile", str(template), "--state", str(tmp / "state.sqlite"), "--stack-name", STACK,
                 "-P", f"dir={tmp / 'files'}", "-o", str(tmp / out), *extra])
    said = capsys.readouterr()
    assert code == 0, said.err
    return said.out


def test_compiled_playbook_runs_twice_then_updates_and_deletes(tmp_path, capsys):
    said = compile_to(tmp_path, TEMPLATE, "first.yml", "-e", str(ENVIRONMENT), capsys=capsys)
    assert "create: secret, folder, note, slow, extra, marker" in said
    plays = yaml.load((tmp_path / "first.yml").read_text(), Loader=_Loader)
    # independent resources share a play (free strategy); the last play records the state
    assert any(p.get("strategy") == "free" and p["name"] == "Stratus: folder, extra" for p in plays)
    assert plays[-1]["hosts"] == "localhost" and "stratus.cloud.stack_state" in plays[-1]["tasks"][0]

    first = playbook(tmp_path / "first.yml", tmp_path)
    assert first["changed"] >= 3
    state = offline_state.read(tmp_path / "state.sqlite", STACK)
    secret = state.resources["secret"].attributes["value"]
    assert (tmp_path / "files" / "note.txt").read_text() == f"hi {secret}\n"
    assert state.outputs == {"note_path": str(tmp_path / "files" / "note.txt"), "secret": secret}
    ids = {n: r.id for n, r in state.resources.items()}

    assert playbook(tmp_path / "first.yml", tmp_path)["changed"] == 0  # idempotent

    # the template changes: a new greeting (the note is updated in place), extra dropped
    changed = tmp_path / "changed.yaml"
    raw = yaml.safe_load(TEMPLATE.read_text())
    del raw["resources"]["extra"]
    changed.write_text(yaml.safe_dump(raw, sort_keys=False))
    said = compile_to(tmp_path, changed, "second.yml", "-e", str(ENVIRONMENT), "-P", "greeting=bye",
                      capsys=capsys)
    assert "update: note" in said and "delete: extra" in said
    second = playbook(tmp_path / "second.yml", tmp_path)
    assert "TASK [extra: wait delete]" in second["out"]
    assert second["out"].index("extra: wait delete") < second["out"].index("TASK [note]")
    state = offline_state.read(tmp_path / "state.sqlite", STACK)
    assert "extra" not in state.resources
    assert {n: r.id for n, r in state.resources.items()} == {n: i for n, i in ids.items() if n != "extra"}
    assert (tmp_path / "files" / "note.txt").read_text() == f"bye {secret}\n"

    # compiled again, nothing changes: every resource is kept (and its tasks converge)
    again = compile_to(tmp_path, changed, "third.yml", "-e", str(ENVIRONMENT), "-P", "greeting=bye",
                       capsys=capsys)
    assert "keep: secret, folder, note, slow, marker" in again


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
