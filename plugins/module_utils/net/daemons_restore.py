"""Bringing a network host's per-network daemons back after they died (a kill, a crash):
``restore_network_daemons(run, dhcp_base, relay_base, *, check)`` returns an ``Outcome``.

The DHCP servers (``dnsmasq.Dnsmasq``) and metadata relays (``metadata_relay``) run
detached, without a service manager, one per network, each with its state under its
base directory (``<base>/<network id>/``). For every network recorded there whose
``qdhcp-`` namespace exists and whose daemon does not run, the daemon is started again
as it was: dnsmasq with the command line it last ran with (its hosts and options files
and its leases are in the same directory), the relay with its recorded config. Daemons
that run are left alone, so a second run changes nothing.

A network whose namespace is gone (after a host restart: namespaces, ports and bridges
do not survive one) is not made here: it is listed in ``missing``, for the network's
own tasks (the controller's jobs) to make again.
"""

from __future__ import annotations

import os

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.net.dnsmasq import Dnsmasq
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    NetError,
    dhcp_ns,
    resource_id,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.metadata_relay import MetadataRelay


def _networks(base: str) -> list[str]:
    if not os.path.isdir(base):
        return []
    return sorted(e for e in os.listdir(base) if os.path.isdir(os.path.join(base, e)))


def _namespace_exists(namespace: str) -> bool:
    return os.path.exists(os.path.join("/run/netns", namespace))


def restore_network_daemons(run, dhcp_base: str, relay_base: str, *, check: bool,
                            python: str | None = None) -> tuple[Outcome, list[str]]:
    """(outcome, missing): ``before``/``after`` map each recorded network id to
    ``{"dhcp": running?, "metadata_relay": running?}`` (only the daemons it has);
    ``missing`` names the networks whose namespace is gone. A network whose daemons
    cannot start does not stop the others: NetError at the end names each."""
    before: dict[str, dict] = {}
    after: dict[str, dict] = {}
    actions: list[str] = []
    missing: list[str] = []
    failures: list[str] = []
    for network_id in sorted(set(_networks(dhcp_base)) | set(_networks(relay_base))):
        try:
            resource_id(network_id, "network id")
        except NetError as exc:
            failures.append(f"directory {network_id!r}: {exc} (not a network's state: move it away)")
            continue
        namespace = dhcp_ns(network_id)
        dnsmasq = Dnsmasq(run, namespace, os.path.join(dhcp_base, network_id))
        relay = MetadataRelay(run, network_id, relay_base, python=python)
        argv = dnsmasq.recorded_argv()
        config = relay.current()
        state = {}
        if argv:
            state["dhcp"] = dnsmasq.pid() is not None
        if config:
            state["metadata_relay"] = relay.pid() is not None
        if not state:
            continue
        before[network_id] = dict(state)
        if not all(state.values()) and not _namespace_exists(namespace):
            missing.append(network_id)
            after[network_id] = state
            continue
        try:
            if argv and not state["dhcp"]:
                actions.append(f"start dnsmasq of network {network_id} in {namespace}")
                if not check:
                    dnsmasq.start(argv)
                state["dhcp"] = True
            if config and not state["metadata_relay"]:
                actions.append(f"start the metadata relay of network {network_id}")
                if not check:
                    relay.ensure_present(config["target"], config["ticket"])
                state["metadata_relay"] = True
        except (NetError, KeyError) as exc:
            failures.append(f"network {network_id}: {exc}")
        after[network_id] = state
    if failures:
        raise NetError(
            f"the recorded daemons of {len(failures)} network(s) could not be started again (the others "
            f"were; state under {dhcp_base} and {relay_base}): {'; '.join(failures)}"
        )
    return Outcome(bool(actions), before, after, actions), missing
