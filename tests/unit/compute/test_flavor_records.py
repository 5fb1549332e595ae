"""stratus.compute.flavors: lookup with private-flavor access, defaults, access list."""

from __future__ import annotations

import pytest

from stratus.compute import flavors
from stratus.db.models.compute import Flavor
from stratus.errors import Conflict, NotFound
from stratus.identity.context import RequestContext
from tests.helpers.db import sqlite_session


@pytest.fixture
def db(tmp_path):
    with sqlite_session(tmp_path) as s:
        yield s


def test_defaults_are_nova_devstack_flavors_and_idempotent(db):
    assert flavors.ensure_defaults(db) == ["m1.nano", "m1.micro", "m1.tiny", "m1.small", "m1.medium", "m1.large"]
    assert flavors.ensure_defaults(db) == []
    tiny = flavors.get_flavor(db, "p1", "1")
    assert (tiny.name, tiny.vcpus, tiny.memory_mb, tiny.root_gb) == ("m1.tiny", 1, 512, 1)
    assert flavors.get_flavor(db, "p1", "m1.nano").id == "42"


def test_defaults_leave_a_flavor_an_admin_changed(db):
    flavors.create(db, name="m1.tiny", vcpus=2, memory_mb=1024, root_gb=5, flavor_id="custom")
    assert "m1.tiny" not in flavors.ensure_defaults(db)
    assert flavors.get_flavor(db, None, "m1.tiny").memory_mb == 1024


def test_private_flavor_only_for_projects_with_access(db):
    f = flavors.create(db, name="secret", vcpus=1, memory_mb=64, flavor_id="auto", is_public=False,
                       projects=("p1",))
    assert len(f.id) == 36
    assert flavors.get_flavor(db, "p1", "secret") is f
    with pytest.raises(NotFound, match="Flavor secret could not be found."):
        flavors.get_flavor(db, "p2", "secret")
    admin = RequestContext(user_id="u", user_name="admin", user_domain_id="default", roles=("admin",),
                           project_id="adm", system_scope="all")
    member = RequestContext(user_id="u2", user_name="m", user_domain_id="default", roles=("member",),
                            project_id="p2")
    assert flavors.get_flavor(db, admin, f.id) is f
    with pytest.raises(NotFound):
        flavors.get_flavor(db, member, f.id)
    listed = lambda who, pub=True: {x.name for x in db.scalars(flavors.visible(db, who, is_public=pub))}  # noqa: E731
    assert listed("p1") == {"secret"} and listed("p2") == set() and listed(admin, None) == {"secret"}
    flavors.add_access(db, f, "p2")
    assert flavors.get_flavor(db, member, "secret") is f
    assert flavors.access_list(db, f) == ["p1", "p2"]
    with pytest.raises(Conflict, match="already exists for flavor"):
        flavors.add_access(db, f, "p2")
    flavors.remove_access(db, f, "p2")
    with pytest.raises(NotFound, match="Flavor access not found"):
        flavors.remove_access(db, f, "p2")


def test_create_refuses_taken_name_and_id(db):
    flavors.ensure_defaults(db)
    with pytest.raises(Conflict, match="Flavor with name m1.tiny already exists."):
        flavors.create(db, name="m1.tiny", vcpus=1, memory_mb=1)
    with pytest.raises(Conflict, match="Flavor with ID 1 already exists."):
        flavors.create(db, name="other", vcpus=1, memory_mb=1, flavor_id="1")
    assert db.query(Flavor).count() == 6


def test_embedded_snapshot(db):
    flavors.ensure_defaults(db)
    snap = flavors.embedded(db, flavors.get_flavor(db, "p", "2"))
    assert snap == {"id": "2", "name": "m1.small", "original_name": "m1.small", "vcpus": 1, "ram": 2048,
                    "disk": 20, "ephemeral": 0, "swap": 0, "extra_specs": {}}


def test_server_group_members_quota(db):
    from stratus import quotas
    from stratus.compute import server_groups
    from stratus.errors import Forbidden

    group = server_groups.create(db, project_id="p1", user_id="u", name="g", policy="anti-affinity",
                                 rules={"max_server_per_host": 2})
    quotas.set_limits(db, "p1", {"server_group_members": 2})
    server_groups.add_member(db, group, "s1")
    server_groups.add_member(db, group, "s2")
    with pytest.raises(Forbidden, match="Quota exceeded, too many servers in group"):
        server_groups.add_member(db, group, "s3")
    assert server_groups.members(db, group.id) == ["s1", "s2"]
    server_groups.remove_member(db, "s1")
    assert server_groups.members(db, group.id) == ["s2"]
    with pytest.raises(NotFound, match=f"Server group {group.id} could not be found."):
        server_groups.get_group(db, "p2", group.id)
    assert server_groups.get_group(db, None, group.id) is group
