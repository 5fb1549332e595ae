"""Where the controller finds the stratus.cloud collection: the checkout it runs from, or,
installed from a wheel, the collection the controller role unpacks into its venv."""

from __future__ import annotations

from pathlib import Path

from stratus import collection
from stratus.jobs.runner import runner_env

REPO = Path(__file__).resolve().parents[2]


def test_from_a_checkout_the_checkout_is_the_collection():
    assert collection.from_checkout()
    assert collection.root() == REPO
    assert (collection.collections_path() / "ansible_collections" / "stratus" / "cloud").resolve() == REPO
    env = runner_env("run-1")
    assert env["ANSIBLE_CONFIG"] == str(REPO / "ansible.cfg")
    assert env["ANSIBLE_ROLES_PATH"] == str(REPO / "roles")


def test_installed_the_collection_beside_the_venv_is_used(monkeypatch, tmp_path):
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"  # no galaxy.yml beside
    installed = tmp_path / "venv" / "share" / "stratus" / "collections"
    monkeypatch.setattr(collection, "CHECKOUT", site)
    monkeypatch.setattr(collection, "INSTALLED_COLLECTIONS", installed)
    assert not collection.from_checkout()
    assert collection.root() == installed / "ansible_collections" / "stratus" / "cloud"
    env = runner_env("run-1")
    assert env["ANSIBLE_COLLECTIONS_PATH"] == str(installed)
    assert env["ANSIBLE_CONFIG"] == str(collection.root() / "ansible.cfg")
    assert env["ANSIBLE_ROLES_PATH"] == str(collection.root() / "roles")
