# Copyright: Stratus contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
name: controller
short_description: Hosts from the Stratus controller's host registry
version_added: "0.1.0"
description:
  - Reads the hosts the Stratus controller knows (filled with C(stratus host sync -i INVENTORY))
    and gives them to Ansible in the groups C(controller), C(compute), C(network),
    C(block_storage), C(object_storage) (and any other group a host was synced with), with
    each host's connection variables and, as C(stratus_capacity), its capacity.
  - Reads the controller's database directly (O(db_url)) or asks its admin API
    (O(api_url) with O(token), C(GET /stratus/v1/inventory)).
  - "The configuration file's name must end with C(stratus.yml) or C(stratus.yaml), or it
    must contain C(plugin: stratus.cloud.controller)."
options:
  plugin:
    description: The name of this plugin; it makes the file a config of this plugin.
    required: true
    type: str
    choices: [stratus.cloud.controller]
  db_url:
    description:
      - SQLAlchemy URL of the controller's database, e.g. C(sqlite:////var/lib/stratus/stratus.db)
        or C(postgresql+psycopg://stratus:secret@db/stratus).
      - One of O(db_url) and O(api_url) is required.
    type: str
    env:
      - name: STRATUS_DATABASE_URL
  api_url:
    description: Base URL of the controller, e.g. C(http://127.0.0.1:8700).
    type: str
  token:
    description: A Keystone token of an admin, sent as C(X-Auth-Token) to O(api_url).
    type: str
    env:
      - name: OS_TOKEN
  validate_certs:
    description: Check the TLS certificate of O(api_url).
    type: bool
    default: true
  include_disabled:
    description: Also list hosts that are disabled in the registry.
    type: bool
    default: false
"""

EXAMPLES = r"""
# inventories/controller.stratus.yml: the registry in the local SQLite database
plugin: stratus.cloud.controller
db_url: sqlite:////var/lib/stratus/stratus.db

# or through the API with an admin token
# plugin: stratus.cloud.controller
# api_url: http://127.0.0.1:8700
# token: "{{ lookup('env', 'OS_TOKEN') }}"
"""

import json

from ansible.errors import AnsibleParserError
from ansible.module_utils.urls import open_url
from ansible.plugins.inventory import BaseInventoryPlugin

DEFAULT_INTERPRETER = "/usr/bin/python3"


def _registry_from_db(db_url, include_disabled):
    """Rows (name, groups, vars, capacity) straight from the ``hosts`` table."""
    try:
        from sqlalchemy import create_engine, text
    except ImportError as exc:  # pragma: no cover - the controller's venv has it
        raise AnsibleParserError("db_url needs SQLAlchemy on the controller; use api_url instead") from exc
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            sql = "SELECT name, groups, vars, capacity, enabled FROM hosts ORDER BY name"
            rows = conn.execute(text(sql)).fetchall()
    except Exception as exc:
        raise AnsibleParserError(
            f"cannot read the host registry at {engine.url.render_as_string(hide_password=True)}: {exc}; "
            "run 'stratus db upgrade' and 'stratus host sync -i INVENTORY' first"
        ) from exc
    finally:
        engine.dispose()
    hosts = {}
    for name, groups, hvars, capacity, enabled in rows:
        if not enabled and not include_disabled:
            continue
        def load(v):
            return (json.loads(v) if isinstance(v, str) else (v or {}))
        hosts[name] = {"groups": load(groups) or [], "vars": load(hvars), "capacity": load(capacity)}
    return hosts


def _registry_from_api(api_url, token, validate_certs):
    url = api_url.rstrip("/") + "/stratus/v1/hosts"
    try:
        resp = open_url(url, headers={"X-Auth-Token": token or "", "Accept": "application/json"},
                        validate_certs=validate_certs, timeout=30)
        data = json.loads(resp.read())
    except Exception as exc:
        raise AnsibleParserError(f"cannot read the host registry from {url}: {exc}") from exc
    return {
        h["name"]: {"groups": h.get("groups", []), "vars": h.get("vars", {}),
                    "capacity": h.get("capacity", {})}
        for h in data.get("hosts", []) if h.get("enabled", True)
    }


class InventoryModule(BaseInventoryPlugin):
    NAME = "stratus.cloud.controller"

    def verify_file(self, path):
        if not super().verify_file(path):
            return False
        if path.endswith(("stratus.yml", "stratus.yaml")):
            return True
        try:
            with open(path) as f:
                return "stratus.cloud.controller" in f.read(4096)
        except OSError:
            return False

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        db_url = self.get_option("db_url")
        api_url = self.get_option("api_url")
        if api_url:
            hosts = _registry_from_api(api_url, self.get_option("token"), self.get_option("validate_certs"))
        elif db_url:
            hosts = _registry_from_db(db_url, self.get_option("include_disabled"))
        else:
            raise AnsibleParserError(f"{path}: set db_url (the controller's database) or api_url")
        for name, h in hosts.items():
            self.inventory.add_host(name)
            for group in h["groups"]:
                self.inventory.add_group(group)
                self.inventory.add_child(group, name)
            hvars = dict(h["vars"])
            hvars.setdefault("ansible_python_interpreter", DEFAULT_INTERPRETER)
            hvars["stratus_capacity"] = h["capacity"]
            for key, value in hvars.items():
                self.inventory.set_variable(name, key, value)
