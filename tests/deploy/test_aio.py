"""`make aio` from a clean host, `make aio` again, `make aio-clean` (about 7 min here).

The first run ends with the demo server ACTIVE and answering ping on its floating IP
(the play fails otherwise), the flavors m1.tiny and m1.small, and the storage host's two
backends in the scheduler's pools (LVM on the loop-file volume group, files); the second changes
nothing on any host; `make aio-clean` leaves nothing of Stratus's that was not on the
host before (tools/aio_host_state.py: domains, links, namespaces, VGs/LVs, loop
devices, nft tables, processes, files, users, sysctls, clouds). The test uses the
all-in-one's fixed ports (8700, 8080, 11211, 873, 6200-6202) and /var/lib/stratus, so it
skips when an all-in-one is up or the ports are taken.
"""

from __future__ import annotations

import json
import socket
import subprocess

import pytest

from tests.helpers.aio_make import BASELINE, REPO, host_state, run_make

pytestmark = [pytest.mark.deploy, pytest.mark.slow]

PORTS = (8700, 8080, 11211, 873, 6200, 6201, 6202)


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _openstack(*argv: str) -> str:
    return subprocess.run([str(REPO / ".venv/bin/openstack"), *argv], capture_output=True, text=True,
                          check=True, timeout=120).stdout


@pytest.mark.timeout(2400)
def test_aio_comes_up_reruns_unchanged_and_cleans_up():
    if BASELINE.exists():
        pytest.skip(f"an all-in-one is up on this host ({BASELINE} exists): make aio-clean first")
    taken = [port for port in PORTS if _port_taken(port)]
    if taken:
        pytest.skip(f"the all-in-one's ports {taken} are in use on this host")
    state = host_state()
    before = state.snapshot()
    try:
        first = run_make("aio")
        assert first.rc == 0 and first.failed == 0, f"make aio failed:\n{first.output[-8000:]}"
        assert "answers ping on 172.24.4." in first.output
        server = json.loads(_openstack("--os-cloud", "stratus", "server", "show", "aio-demo", "-f", "json"))
        assert server["status"] == "ACTIVE" and "m1.tiny" in json.dumps(server["flavor"])
        flavors = {f["Name"] for f in json.loads(_openstack("--os-cloud", "stratus-admin", "flavor", "list", "-f", "json"))}
        assert {"m1.tiny", "m1.small"} <= flavors
        assert len(first.summary["steps"]) >= 10  # one progress line per step
        # the storage host reports both backends: the loop-file volume group and the file one
        pools = json.loads(_openstack("--os-cloud", "stratus-admin", "volume", "backend", "pool", "list", "-f", "json"))
        assert {p["Name"].split("@")[1] for p in pools} == {"lvm#lvm", "file#file"}, pools
        pvs = subprocess.run(["vgs", "--driverloaded", "n", "--noheadings", "-o", "pv_name", "stratus-volumes"],
                             capture_output=True, text=True, check=True).stdout.split()
        assert pvs and all(pv.startswith("/dev/loop") for pv in pvs), pvs

        again = run_make("aio")
        assert again.rc == 0 and again.failed == 0, f"make aio (again) failed:\n{again.output[-8000:]}"
        assert again.changed == 0, "a second make aio changed: " + ", ".join(again.summary["changed_tasks"])
    finally:
        clean = run_make("aio-clean")
    assert clean.rc == 0, f"make aio-clean failed:\n{clean.output[-8000:]}"
    left = state.leftovers(before, state.snapshot())
    assert left == {}, f"make aio-clean left these on the host: {json.dumps(left, indent=2)}"
