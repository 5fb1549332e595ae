"""Each role's molecule scenario (delegated driver: the role converges on this host).

A scenario converges its role, converges it again expecting no change (idempotence),
then runs its verify playbook.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# multihost makes its own hosts and takes its own time: tests/deploy/test_multihost.py
SCENARIOS = sorted(p.parent.name for p in (REPO / "molecule").glob("*/molecule.yml") if p.parent.name != "multihost")

pytestmark = [pytest.mark.deploy, pytest.mark.slow]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_role_converges_idempotently_and_verifies(scenario, libvirt_daemon):
    # libvirt_daemon: the session starts libvirtd itself (and stops it at the end), so
    # the compute role finds it running instead of leaving a daemon behind.
    venv_bin = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}", NO_COLOR="1")
    proc = subprocess.run(
        [str(venv_bin / "molecule"), "test", "-s", scenario],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, f"molecule test -s {scenario} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
