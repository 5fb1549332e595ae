"""Bootstrap with an object store: the Swift service user, its project and roles, and the
object-store endpoint with Swift's own absolute URL; a second run changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from stratus.config import Settings
from stratus.db.base import Base
from stratus.db.models.identity import Endpoint, Project, Role, RoleAssignment, Service, User
from stratus.db.session import Database
from stratus.identity.bootstrap import bootstrap


def _run(tmp_path, **settings):
    st = Settings(database_url=f"sqlite:///{tmp_path}/b.db", bcrypt_rounds=4, **settings)
    db = Database(st.database_url)
    Base.metadata.create_all(db.engine)
    reports = []
    for _ in range(2):
        with db.session() as s:
            reports.append(bootstrap(s, st, admin_username="admin", admin_password="pw",
                                     public_url="http://ctl:9999"))
    return db, reports


def test_object_store_user_roles_and_endpoint(tmp_path):
    db, (first, second) = _run(tmp_path, object_store_url="http://proxy:8080/", object_store_password="sw")
    assert second == ["nothing to do: already bootstrapped"]
    assert "created user swift" in first
    with db.session() as s:
        swift = s.scalars(select(User).filter_by(name="swift")).one()
        service = s.scalars(select(Project).filter_by(name="service")).one()
        roles = {r.id: r.name for r in s.scalars(select(Role))}
        held = {roles[a.role_id] for a in s.scalars(select(RoleAssignment).filter_by(
            actor_id=swift.id, target_id=service.id))}
        assert held == {"service", "ResellerAdmin"}
        assert "SwiftOperator" in roles.values()
        svc = s.scalars(select(Service).filter_by(type="object-store")).one()
        urls = {(e.interface, e.url) for e in s.scalars(select(Endpoint).filter_by(service_id=svc.id))}
        assert urls == {(i, "http://proxy:8080/v1/AUTH_%(project_id)s") for i in ("public", "internal", "admin")}
    db.dispose()


def test_no_object_store_no_swift_user(tmp_path):
    db, _ = _run(tmp_path)
    with db.session() as s:
        assert s.scalars(select(User).filter_by(name="swift")).first() is None
        assert s.scalars(select(Service).filter_by(type="object-store")).first() is None
    db.dispose()


def test_object_store_without_password_is_refused_and_nothing_is_made(tmp_path):
    with pytest.raises(ValueError, match="object_store_password"):
        _run(tmp_path, object_store_url="http://proxy:8080")
    db = Database(f"sqlite:///{tmp_path}/b.db")
    with db.session() as s:
        assert s.scalars(select(User)).first() is None  # the transaction was rolled back
    db.dispose()
