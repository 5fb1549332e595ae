"""The orchestration API tests (Heat v1) share one controller for the whole session
(``heat_cloud``, defined in tests/conftest.py so that tests/e2e sees it too) whose host ``hc1`` is this machine in the groups compute, network and
block_storage (a file backend in a fresh /var/tmp directory; the system libvirtd; the
flat physical network ``heat_cloud.physnet`` reaching the external namespace
``heat_cloud.external``), shared by
tests/api/orchestration and tests/e2e/test_stack_journey.py. Each test makes its own
project user (``cloud.new_project_user``) and names its stacks uniquely, so tests do not
see each other's stacks. The shared fixtures of ``tests/api/conftest.py`` apply."""

