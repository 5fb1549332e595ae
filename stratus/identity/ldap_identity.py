"""The LDAP identity backend of a domain (Keystone's read-only ``ldap`` driver), chosen
by the domain's configuration (``identity.driver = ldap``, ``ldap.*`` options).

Users and groups live in the directory: they are searched under ``user_tree_dn`` /
``group_tree_dn`` with ``user_objectclass`` / ``group_objectclass`` (and the optional
``*_filter``), named by ``*_id_attribute`` and ``*_name_attribute``, members by
``group_member_attribute`` (DNs, or ids with ``group_members_are_ids``). A password
login searches the user (bound as ``ldap.user``/``ldap.password``, anonymously without)
and binds as the user's DN with the given password.

Assignments stay in the DB, so each directory user and group has a row in the identity
tables (a "shadow" as Keystone's id mapping): its id is Keystone's public id
(sha256 of domain id, entity type and local id), made or refreshed when the user logs
in and when the domain's users or groups are listed; a user or group gone from the
directory is removed with its assignments when the domain is listed. Writes through the
API are refused (Keystone's 403 "LDAP does not support write operations").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.identity import Domain, Group, GroupMembership, User
from stratus.errors import Forbidden, ServiceUnavailable
from stratus.identity import domain_config

READ_ONLY = "LDAP does not support write operations"
SCOPES = {"one": ldap3.LEVEL, "sub": ldap3.SUBTREE, "base": ldap3.BASE}
TIMEOUT = 5  # seconds to connect or answer: a dead directory must not hang logins


def public_id(domain_id: str, local_id: str, entity_type: str) -> str:
    """Keystone's sha256 id generator: the same directory entry has the same id."""
    m = hashlib.sha256()
    for value in (domain_id, entity_type, local_id):  # the keys' sorted order
        m.update(value.encode("utf-8"))
    return m.hexdigest()


@dataclass
class Entry:
    dn: str
    local_id: str
    name: str
    attrs: dict[str, list[Any]]


def _first(attrs: dict[str, list[Any]], name: str | None) -> Any:
    if not name:
        return None
    for key, values in attrs.items():
        if key.lower() == name.lower():
            values = values if isinstance(values, list) else [values]
            return values[0] if values else None
    return None


def _all(attrs: dict[str, list[Any]], name: str) -> list[Any]:
    for key, values in attrs.items():
        if key.lower() == name.lower():
            return values if isinstance(values, list) else [values]
    return []


class Directory:
    """One domain's directory, from its configuration options (``ldap`` group)."""

    def __init__(self, domain_id: str, opts: dict[str, Any]) -> None:
        self.domain_id = domain_id
        self.o = opts
        suffix = opts.get("suffix") or ""
        self.user_tree = opts.get("user_tree_dn") or f"ou=Users,{suffix}"
        self.group_tree = opts.get("group_tree_dn") or f"ou=UserGroups,{suffix}"
        self.scope = SCOPES.get(str(opts.get("query_scope") or "one"), ldap3.LEVEL)

    def _server(self) -> ldap3.Server:
        return ldap3.Server(str(self.o.get("url") or "ldap://localhost"), connect_timeout=TIMEOUT)

    def _connect(self, dn: str | None = None, password: str | None = None) -> ldap3.Connection:
        try:
            conn = ldap3.Connection(self._server(), user=dn, password=password, receive_timeout=TIMEOUT,
                                    raise_exceptions=False, read_only=True)
            if self.o.get("use_tls"):
                conn.open()
                conn.start_tls()
            conn.bind()
        except LDAPException as exc:
            raise ServiceUnavailable(f"The LDAP server of domain {self.domain_id} "
                                     f"({self.o.get('url')}) cannot be reached: {exc}") from exc
        return conn

    def _service(self) -> ldap3.Connection:
        conn = self._connect(self.o.get("user"), self.o.get("password"))
        if not conn.bound:
            raise ServiceUnavailable(f"The LDAP server of domain {self.domain_id} refused the bind as "
                                     f"{self.o.get('user') or 'anonymous'}: check ldap.user and ldap.password "
                                     "in the domain's configuration")
        return conn

    def _search(self, kind: str, extra: str = "") -> list[Entry]:
        tree = self.user_tree if kind == "user" else self.group_tree
        id_attr = self.o.get(f"{kind}_id_attribute")
        name_attr = self.o.get(f"{kind}_name_attribute")
        query = f"(&(objectClass={self.o.get(f'{kind}_objectclass')}){extra}{self.o.get(f'{kind}_filter') or ''})"
        conn = self._service()
        try:
            conn.search(tree, query, search_scope=self.scope, attributes=[ldap3.ALL_ATTRIBUTES],
                        paged_size=int(self.o.get("page_size") or 0) or None)
            out = []
            for e in conn.response or []:
                if e.get("type") != "searchResEntry":
                    continue
                attrs = dict(e.get("attributes") or {})
                local_id, name = _first(attrs, id_attr), _first(attrs, name_attr)
                if local_id is None or name is None:
                    continue  # Keystone skips entries without an id or a name
                out.append(Entry(e["dn"], str(local_id), str(name), attrs))
            return out
        finally:
            conn.unbind()

    def users(self, name: str | None = None) -> list[Entry]:
        extra = f"({self.o.get('user_name_attribute')}={escape_filter_chars(name)})" if name else ""
        return self._search("user", extra)

    def groups(self) -> list[Entry]:
        return self._search("group")

    def check_password(self, dn: str, password: str) -> bool:
        if not password:
            return False  # an empty password is an anonymous bind: never a login
        conn = self._connect(dn, password)
        try:
            return bool(conn.bound)
        finally:
            conn.unbind()

    def enabled(self, entry: Entry) -> bool:
        value = _first(entry.attrs, self.o.get("user_enabled_attribute"))
        if value is None:
            return str(self.o.get("user_enabled_default")).lower() == "true"
        mask = int(self.o.get("user_enabled_mask") or 0)
        on = not (int(value) & mask) if mask else str(value).lower() in ("true", "1", "yes")
        return on != bool(self.o.get("user_enabled_invert"))


def directory(db: Session, domain_id: str | None) -> Directory | None:
    """The domain's directory when its identity driver is ``ldap``, else None."""
    if not domain_id or domain_config.driver(db, domain_id) != "ldap":
        return None
    return Directory(domain_id, domain_config.options(db, domain_id)["ldap"])


def refuse_write(db: Session, domain_id: str | None) -> None:
    """Users and groups of an LDAP domain are read-only (Keystone's 403)."""
    if directory(db, domain_id) is not None:
        raise Forbidden(READ_ONLY)


def _shadow_user(db: Session, d: Directory, e: Entry) -> User:
    uid = public_id(d.domain_id, e.local_id, "user")
    u = db.get(User, uid)
    if u is None:
        u = User(id=uid, domain_id=d.domain_id, name=e.name, password_hash=None)
        db.add(u)
    u.name, u.enabled = e.name, d.enabled(e)
    u.email = _first(e.attrs, d.o.get("user_mail_attribute"))
    u.description = str(_first(e.attrs, d.o.get("user_description_attribute")) or "")
    return u


def _shadow_group(db: Session, d: Directory, e: Entry) -> Group:
    gid = public_id(d.domain_id, e.local_id, "group")
    g = db.get(Group, gid)
    if g is None:
        g = Group(id=gid, domain_id=d.domain_id, name=e.name)
        db.add(g)
    g.name = e.name
    g.description = str(_first(e.attrs, d.o.get("group_desc_attribute")) or "")
    return g


def _member_keys(d: Directory, e: Entry) -> set[str]:
    """How the group names its members: DNs (lowercased) or user local ids."""
    values = _all(e.attrs, d.o.get("group_member_attribute") or "member")
    return {str(v) if d.o.get("group_members_are_ids") else str(v).lower() for v in values}


def _sync_memberships(db: Session, d: Directory, users: list[Entry], groups: list[Entry]) -> None:
    for ge in groups:
        gid = public_id(d.domain_id, ge.local_id, "group")
        keys = _member_keys(d, ge)
        for ue in users:
            uid = public_id(d.domain_id, ue.local_id, "user")
            member = (ue.local_id if d.o.get("group_members_are_ids") else ue.dn.lower()) in keys
            row = db.get(GroupMembership, (uid, gid))
            if member and row is None:
                db.add(GroupMembership(user_id=uid, group_id=gid))
            elif not member and row is not None:
                db.delete(row)


def login(db: Session, domain_id: str, name: str, password: str) -> User | None:
    """The (shadow) user of ``domain_id``'s directory named ``name`` when ``password``
    binds as it, None otherwise; its row and group memberships are refreshed."""
    d = directory(db, domain_id)
    found = d.users(name)
    if len(found) != 1 or not d.check_password(found[0].dn, password):
        return None
    user = _shadow_user(db, d, found[0])
    db.flush()
    groups = d.groups()
    for ge in groups:
        _shadow_group(db, d, ge)
    db.flush()
    _sync_memberships(db, d, found, groups)
    db.flush()
    return user


def sync_domain(db: Session, settings, domain_id: str | None) -> None:
    """Make the domain's rows match its directory (before users or groups are listed)."""
    d = directory(db, domain_id)
    if d is None or db.get(Domain, domain_id) is None:
        return
    from stratus.identity import deletion

    users, groups = d.users(), d.groups()
    keep_users = {_shadow_user(db, d, e).id for e in users}
    keep_groups = {_shadow_group(db, d, e).id for e in groups}
    db.flush()
    for u in db.scalars(select(User).filter_by(domain_id=domain_id)):
        if u.id not in keep_users:
            deletion.delete_user(db, settings, u)
    for g in db.scalars(select(Group).filter_by(domain_id=domain_id)):
        if g.id not in keep_groups:
            deletion.delete_group(db, g)
    _sync_memberships(db, d, users, groups)
    db.flush()




def login_domain(db: Session, uref: dict, user: User | None) -> str | None:
    """The LDAP domain a password login's user reference is in (None: not an LDAP
    domain, or no such domain: the SQL path answers as for any unknown user)."""
    if user is not None:
        domain_id = user.domain_id
    elif uref.get("id") or not uref.get("name") or not isinstance(uref.get("domain"), dict):
        return None  # a directory user logs in by name first; its id exists from then on
    else:
        ref = uref["domain"]
        if ref.get("id"):
            domain_id = str(ref["id"])
        else:
            d = db.scalars(select(Domain).filter_by(name=ref.get("name"))).first()
            domain_id = d.id if d is not None else None
    return domain_id if directory(db, domain_id) is not None else None
