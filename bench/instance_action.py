#!/usr/bin/env python3
"""instance_action figures: snapshot (block copy of a running guest vs qemu-img convert of
a stopped one) and migration (live with incremental storage copy, peer-to-peer, vs cold)
between two test libvirt hosts on this machine (tests/helpers/libvirt_node.py).

    .venv/bin/python bench/instance_action.py

Drivers are called directly (no Ansible overhead in the figures). Two guests of the tiny
test image boot first (TCG: tens of seconds under load); everything is removed at the end.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tools"), str(REPO / "collections")]

from build_guest_image import build  # noqa: E402

from ansible_collections.stratus.cloud.plugins.module_utils.compute.actions import (  # noqa: E402
    InstanceActions,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.libvirt_driver import (  # noqa: E402
    LibvirtDriver,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.migration import (  # noqa: E402
    Migration,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.paths import (  # noqa: E402
    InstancePaths,
)
from tests.helpers.guest_console import GuestConsole  # noqa: E402
from tests.helpers.libvirt_node import LibvirtNode  # noqa: E402
from tests.integration.compute.actions_guest import (  # noqa: E402
    boot,
    cache_image,
    cleanup,
    make_guest,
    remove_images,
)


def timed(fn):
    start = time.monotonic()
    fn()
    return time.monotonic() - start


def main() -> int:
    import libvirt

    libvirt.registerErrorHandler(lambda _c, _e: None, None)
    node1 = LibvirtNode("node1", (49300, 49360), private_stratus=False).start()
    node2 = LibvirtNode().start()
    image = cache_image(build()["qcow2"])
    guests = [make_guest(image, hostname=f"bench-{i}") for i in range(2)]
    snaps = [f"{image}-snap-run", f"{image}-snap-stop"]
    try:
        def start(g):
            boot(g, node1.uri)
            with GuestConsole(g.name, node1.uri) as con:
                con.wait_for("STRATUS-GUEST ready", timeout=300)

        boot_s = timed(lambda: list(ThreadPoolExecutor(2).map(start, guests)))
        a0 = InstanceActions(LibvirtDriver(node1.uri), guests[0].uuid)
        a1 = InstanceActions(LibvirtDriver(node1.uri), guests[1].uuid)
        snap_run = timed(lambda: a0.snapshot(snaps[0]))
        LibvirtDriver(node1.uri).destroy(guests[1].name)
        snap_stop = timed(lambda: a1.snapshot(snaps[1]))
        LibvirtDriver(node1.uri).start(guests[1].name)
        with GuestConsole(guests[1].name, node1.uri) as con:  # acpid up before the ACPI stop
            con.wait_for("STRATUS-GUEST ready", timeout=300)
        live = timed(lambda: Migration(a0, node2.uri).live(migration_uri="tcp://127.0.0.1", peer2peer=True))
        cold = timed(lambda: Migration(a1, node2.uri).cold(timeout=30))
        print(f"boot of 2 guests (parallel, TCG):        {boot_s:7.2f} s")
        print(f"snapshot running guest (blockcopy):      {snap_run:7.2f} s")
        print(f"snapshot stopped guest (qemu-img):       {snap_stop:7.2f} s")
        print(f"live migration (p2p, NON_SHARED_INC):    {live:7.2f} s  (guest keeps running)")
        print(f"cold migration (ACPI stop, copy, start): {cold:7.2f} s  (boot on node 2 follows)")
        print(f"ratio blockcopy / convert:               {snap_run / snap_stop:7.2f}")
        print(f"ratio live / cold:                       {live / cold:7.2f}")
        return 0
    finally:
        for g in guests:
            cleanup(g.uuid, node1.uri)
            cleanup(g.uuid, node2.uri, root=node2.host_path(InstancePaths.for_uuid(g.uuid).directory))
        remove_images(image, *snaps)
        node2.stop()
        node1.stop()


if __name__ == "__main__":
    sys.exit(main())
