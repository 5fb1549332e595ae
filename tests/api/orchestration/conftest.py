"""The orchestration API tests (Heat v1): one controller for the whole session
(``heat_cloud``) whose host ``hc1`` is this machine in the groups compute, network and
block_storage (a file backend in a fresh /var/tmp directory; the system libvirtd; the
flat physical network ``heat_cloud.physnet`` reaching the external namespace
``heat_cloud.external``), shared by
tests/api/orchestration and tests/e2e/test_stack_journey.py. Each test makes its own
project user (``cloud.new_project_user``) and names its stacks uniquely, so tests do not
see each other's stacks. The shared fixtures of ``tests/api/conftest.py`` apply."""

from __future__ import annotations

import pytest

from tests.api.orchestration.heat_helpers import start_heat_cloud


@pytest.fixture(scope="session")
def heat_cloud(request, tmp_path_factory, libvirt_daemon):
    # guests reach the controller through their network's metadata relay (signals,
    # software deployments); tests on this host swap the base (signal_helpers.from_host)
    return start_heat_cloud(request, tmp_path_factory.mktemp("heat-ctl"),
                            orchestration_signal_url="http://169.254.169.254", network_metadata_relay=True)
