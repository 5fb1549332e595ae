"""One driver contract for the network area: ``ensure_present(spec, *, check)`` and
``ensure_absent(..., *, check)`` return a common ``Outcome``; dnsmasq fails through the
common runner's ``CommandFailed``."""

import inspect

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.common import command
from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.net import dnsmasq as D
from ansible_collections.stratus.cloud.plugins.module_utils.net.bridge import LinuxBridgeNetwork
from ansible_collections.stratus.cloud.plugins.module_utils.net.dhcp import DhcpService
from ansible_collections.stratus.cloud.plugins.module_utils.net.floating_ip import FloatingIp
from ansible_collections.stratus.cloud.plugins.module_utils.net.interface import (
    BridgeInterfaceDriver,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import NetError
from ansible_collections.stratus.cloud.plugins.module_utils.net.port import PortDriver
from ansible_collections.stratus.cloud.plugins.module_utils.net.port_security import PortSecurity
from ansible_collections.stratus.cloud.plugins.module_utils.net.router import Router
from ansible_collections.stratus.cloud.plugins.module_utils.net.security_groups import (
    SecurityGroups,
)

pytestmark = pytest.mark.network

DRIVERS = [LinuxBridgeNetwork, BridgeInterfaceDriver, PortSecurity, SecurityGroups, PortDriver,
           DhcpService, Router, FloatingIp]


@pytest.mark.parametrize("driver", DRIVERS, ids=lambda d: d.__name__)
@pytest.mark.parametrize("method", ["ensure_present", "ensure_absent"])
def test_ensure_methods_take_check_by_keyword_and_return_an_outcome(driver, method):
    sig = inspect.signature(getattr(driver, method))
    check = sig.parameters["check"]
    assert check.kind is inspect.Parameter.KEYWORD_ONLY and check.default is False
    assert sig.return_annotation in (Outcome, "Outcome")
    assert not any("mode" in name for name in sig.parameters)


def test_dnsmasq_failure_is_the_common_command_failed(tmp_path):
    def run(argv, data=None):
        return 2, "", "dnsmasq: bad option"

    with pytest.raises(D.DnsmasqFailed, match="bad option") as failed:
        D.Dnsmasq(run, "qdhcp-net1", str(tmp_path)).start(["dnsmasq", "--x"])
    assert isinstance(failed.value, command.CommandFailed) and isinstance(failed.value, NetError)
    assert failed.value.rc == 2
    assert failed.value.argv == ["ip", "netns", "exec", "qdhcp-net1", "env", "-i", f"PATH={D.DAEMON_PATH}",
                                 "dnsmasq", "--x"]
