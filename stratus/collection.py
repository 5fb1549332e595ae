"""Where the controller finds the ``stratus.cloud`` collection: for the playbooks it runs
(ansible.cfg, the roles, the collections path) and for the drivers it imports itself
(``plugins/module_utils``).

- Run from a checkout (the package beside ``galaxy.yml``: the all-in-one, development,
  CI): the checkout is the collection (``collections/ansible_collections/stratus/cloud``
  links to it).
- Installed from a wheel into a venv (a remote controller, as the controller role
  installs it): the collection the role unpacks beside it, under
  ``<venv>/share/stratus/collections/ansible_collections/stratus/cloud``
  (:data:`INSTALLED_COLLECTIONS`).
"""

from __future__ import annotations

import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
INSTALLED_COLLECTIONS = Path(sys.prefix) / "share" / "stratus" / "collections"


def from_checkout() -> bool:
    """Whether this package runs from a checkout of the repository."""
    return (CHECKOUT / "galaxy.yml").is_file()


def collections_path() -> Path:
    """The directory for ANSIBLE_COLLECTIONS_PATH (holding ``ansible_collections/``)."""
    return CHECKOUT / "collections" if from_checkout() else INSTALLED_COLLECTIONS


def root() -> Path:
    """The collection's own directory: ``ansible.cfg``, ``roles/``, ``plugins/``."""
    if from_checkout():
        return CHECKOUT
    return INSTALLED_COLLECTIONS / "ansible_collections" / "stratus" / "cloud"
