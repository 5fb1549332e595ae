"""Testinfra over molecule's inventory: each test module names the group it checks
(``testinfra_hosts``); ``inventory()`` reads the hosts and their variables."""

from __future__ import annotations

import os

import testinfra.utils.ansible_runner


def inventory() -> testinfra.utils.ansible_runner.AnsibleRunner:
    return testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
