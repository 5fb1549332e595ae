"""The controller role shares the key repositories across the ``controller`` hosts: the
first controller makes (and, when asked, rotates) the Fernet keys and every other
controller gets exactly its Fernet and credential keys. Two controllers here are two
inventory hosts on this machine (local connection), each with its own repositories;
tokens are Fernet tokens made with stratus's own FernetKeys on each repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stratus.identity.fernet import FernetKeys

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent

pytestmark = [pytest.mark.deploy, pytest.mark.identity]

PLAYBOOK = """- hosts: controller
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: controller
        tasks_from: keys
"""


@pytest.fixture
def controllers(tmp_path):
    hosts = {}
    for name in ("ctl1", "ctl2"):
        d = tmp_path / name
        d.mkdir()
        (d / "stratus.yaml").write_text(yaml.safe_dump({"fernet_key_repository": str(d / "fernet-keys"),
                                                        "credential_key_repository": str(d / "credential-keys"),
                                                        "database_url": f"sqlite:///{d}/stratus.db"}))
        hosts[name] = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                       "controller_venv": str(VENV), "controller_config_file": str(d / "stratus.yaml"),
                       "controller_fernet_key_repository": str(d / "fernet-keys"),
                       "controller_credential_key_repository": str(d / "credential-keys")}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump({"all": {"children": {"controller": {"hosts": hosts}}}}))
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    return tmp_path


def _run(root: Path, **extra) -> dict[str, bool]:
    """Run the role's key tasks; {host: changed} from the recap."""
    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(REPO / "roles"), ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               PATH=f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}", NO_COLOR="1")
    argv = [str(VENV / "bin" / "ansible-playbook"), "-i", str(root / "inventory.yml"), str(root / "play.yml")]
    for k, v in extra.items():
        argv += ["-e", f"{k}={v}"]
    r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    recap = r.stdout.split("PLAY RECAP", 1)[1]
    return {line.split()[0]: " changed=0 " not in line for line in recap.strip().splitlines() if "ok=" in line}


def _keys(root: Path, host: str, repo: str = "fernet") -> dict[str, bytes]:
    d = root / host / f"{repo}-keys"
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())} if d.is_dir() else {}


def test_controllers_share_and_rotate_keys_without_invalidating_tokens(controllers):
    """Three runs: share (stale keys of ctl2 replaced), again (no change), rotate."""
    root = controllers
    # the first controller's database is migrated before its keys are handled (main.yml):
    # rotating the credential keys re-encrypts what it stores
    subprocess.run([str(VENV / "bin" / "stratus"), "db", "upgrade", "--config", str(root / "ctl1" / "stratus.yaml")],
                   check=True, capture_output=True)
    # ctl2 has stale keys of its own: they go
    FernetKeys(root / "ctl2" / "fernet-keys").setup()
    stale = _keys(root, "ctl2")

    changed = _run(root)
    first = _keys(root, "ctl1")
    assert sorted(first) == ["0", "1"]
    assert _keys(root, "ctl2") == first != stale
    first_credential_keys = _keys(root, "ctl1", "credential")
    assert first_credential_keys and _keys(root, "ctl2", "credential") == first_credential_keys
    assert oct((root / "ctl2" / "fernet-keys" / "1").stat().st_mode & 0o777) == "0o600"
    assert changed["ctl2"]

    assert _run(root) == {"ctl1": False, "ctl2": False}  # idempotent

    # tokens live on every controller before the rotation
    tokens = {h: FernetKeys(root / h / "fernet-keys").encrypt(f"from {h}".encode()) for h in ("ctl1", "ctl2")}
    _run(root, controller_rotate_keys="true")
    after = _keys(root, "ctl1")
    assert sorted(after) == ["0", "1", "2"] and after["2"] == first["0"]  # the staged key is primary
    credential_keys = _keys(root, "ctl1", "credential")
    assert credential_keys != first_credential_keys  # rotated too, and shared
    assert _keys(root, "ctl2", "credential") == credential_keys
    for host in ("ctl1", "ctl2"):
        assert _keys(root, host) == after
        keys = FernetKeys(root / host / "fernet-keys")
        for origin, token in tokens.items():  # issued before the rotation, still valid everywhere
            assert keys.decrypt(token) == f"from {origin}".encode()
    fresh = FernetKeys(root / "ctl2" / "fernet-keys").encrypt(b"after")
    assert FernetKeys(root / "ctl1" / "fernet-keys").decrypt(fresh) == b"after"
