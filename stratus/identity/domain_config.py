"""Domain-specific identity configuration, as Keystone's ``DomainConfigManager``: the
groups ``identity`` and ``ldap`` and their whitelisted options, plus the sensitive
``ldap.password`` (stored, used by the LDAP backend, never returned). Unknown groups
and options are refused with Keystone's 403 ``InvalidDomainConfig``; a missing group or
option is Keystone's 404 ``DomainConfigNotFound``.

Routes check policy and call these; :func:`options` gives a backend the whole
configuration of a domain, sensitive options included.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from stratus.db.models.identity import Domain
from stratus.db.models.identity_domain_config import DomainConfigOption
from stratus.errors import Forbidden, NotFound

# Keystone's defaults of the options a domain may set (keystone/conf/ldap.py, identity.py).
DEFAULTS: dict[str, dict[str, Any]] = {
    "identity": {"driver": "sql", "list_limit": None},
    "ldap": {
        "url": "ldap://localhost", "user": None, "suffix": "cn=example,cn=com", "query_scope": "one",
        "page_size": 0, "alias_dereferencing": "default", "debug_level": None, "chase_referrals": None,
        "user_tree_dn": None, "user_filter": None, "user_objectclass": "inetOrgPerson",
        "user_id_attribute": "cn", "user_name_attribute": "sn", "user_mail_attribute": "mail",
        "user_description_attribute": "description", "user_pass_attribute": "userPassword",
        "user_enabled_attribute": "enabled", "user_enabled_invert": False, "user_enabled_mask": 0,
        "user_enabled_default": "True", "user_attribute_ignore": ["default_project_id"],
        "user_default_project_id_attribute": None, "user_enabled_emulation": False,
        "user_enabled_emulation_dn": None, "user_enabled_emulation_use_group_config": False,
        "user_additional_attribute_mapping": [], "group_tree_dn": None, "group_filter": None,
        "group_objectclass": "groupOfNames", "group_id_attribute": "cn", "group_name_attribute": "ou",
        "group_members_are_ids": False, "group_member_attribute": "member",
        "group_desc_attribute": "description", "group_attribute_ignore": [],
        "group_additional_attribute_mapping": [], "tls_cacertfile": None, "tls_cacertdir": None,
        "use_tls": False, "tls_req_cert": "demand", "use_pool": True, "pool_size": 10,
        "pool_retry_max": 3, "pool_retry_delay": 0.1, "pool_connection_timeout": -1,
        "pool_connection_lifetime": 600, "use_auth_pool": True, "auth_pool_size": 100,
        "auth_pool_connection_lifetime": 60,
    },
}
SENSITIVE: dict[str, tuple[str, ...]] = {"identity": (), "ldap": ("password",)}
DRIVERS = ("sql", "ldap")


class InvalidDomainConfig(Forbidden):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid domain specific configuration: {reason}.")


class DomainConfigNotFound(NotFound):
    def __init__(self, domain_id: str, what: str) -> None:
        super().__init__(f"Could not find {what} in domain configuration for domain {domain_id}.")


def _what(group: str | None, option: str | None) -> str:
    if option:
        return f"option {option} in group {group}"
    return f"group {group}" if group else "any options"


def check_group_and_option(group: str | None, option: str | None = None) -> None:
    if group and group not in DEFAULTS:
        raise InvalidDomainConfig(f"Group {group} is not supported for domain specific configurations")
    if option and option not in DEFAULTS[group] and option not in SENSITIVE[group]:
        raise InvalidDomainConfig(f"Option {option} in group {group} is not supported for domain "
                                  "specific configurations")


def check_config(config: Any) -> None:
    if not config or not isinstance(config, dict):
        raise InvalidDomainConfig("No options specified")
    for group, opts in config.items():
        if not opts or not isinstance(opts, dict):
            raise InvalidDomainConfig(f"The value of group {group} specified in the config should be "
                                      "a dictionary of options")
        for option in opts:
            check_group_and_option(group, option)
    drv = (config.get("identity") or {}).get("driver")
    if drv is not None and drv not in DRIVERS:
        raise InvalidDomainConfig(f"The identity driver {drv!r} is not supported; use one of "
                                  + ", ".join(DRIVERS))


def _domain(db: Session, domain_id: str) -> Domain:
    d = db.get(Domain, domain_id)
    if d is None:
        raise NotFound(f"Could not find domain: {domain_id}.")
    return d


def _rows(db: Session, domain_id: str, group: str | None = None, option: str | None = None,
          sensitive: bool = False) -> list[DomainConfigOption]:
    q = select(DomainConfigOption).filter_by(domain_id=domain_id)
    if group:
        q = q.filter_by(group=group)
    if option:
        q = q.filter_by(option=option)
    if not sensitive:
        q = q.filter_by(sensitive=False)
    return list(db.scalars(q.order_by(DomainConfigOption.group, DomainConfigOption.option)))


def _nest(rows: list[DomainConfigOption]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        out.setdefault(r.group, {})[r.option] = r.value
    return out


def _store(db: Session, domain_id: str, config: dict[str, dict[str, Any]]) -> None:
    for group, opts in config.items():
        for option, value in opts.items():
            row = db.get(DomainConfigOption, (domain_id, group, option))
            if row is None:
                row = DomainConfigOption(domain_id=domain_id, group=group, option=option)
                db.add(row)
            row.value, row.sensitive = value, option in SENSITIVE[group]
    db.flush()


def exists(db: Session, domain_id: str) -> bool:
    return bool(_rows(db, domain_id, sensitive=True))


def create(db: Session, domain_id: str, config: Any) -> dict[str, dict[str, Any]]:
    """Replace the domain's whole configuration (PUT); returns it without secrets."""
    _domain(db, domain_id)
    check_config(config)
    db.execute(delete(DomainConfigOption).where(DomainConfigOption.domain_id == domain_id))
    _store(db, domain_id, config)
    return _nest(_rows(db, domain_id))


def get(db: Session, domain_id: str, group: str | None = None, option: str | None = None) -> dict:
    _domain(db, domain_id)
    check_group_and_option(group, option)
    rows = _rows(db, domain_id, group, option)
    if not rows:
        raise DomainConfigNotFound(domain_id, _what(group, option))
    return {rows[0].option: rows[0].value} if option else _nest(rows)


def update(db: Session, domain_id: str, config: Any, group: str | None = None,
           option: str | None = None) -> dict[str, dict[str, Any]]:
    """Merge ``config`` (PATCH); with ``group``/``option`` only that part, which must exist."""
    _domain(db, domain_id)
    if group and option:
        config = {group: config}
    check_config(config)
    check_group_and_option(group, option)
    if group:
        if len(config) != 1 or (option and len(config.get(group) or {}) != 1):
            raise InvalidDomainConfig(
                f"Trying to update option {option} in group {group}, so that, and only that, option "
                "must be specified  in the config" if option else
                f"Trying to update group {group}, so that, and only that, group must be specified in "
                "the config")
        if group not in config:
            raise InvalidDomainConfig(f"request to update group {group}, but config provided contains "
                                      f"group {next(iter(config))} instead")
        if option and option not in config[group]:
            raise InvalidDomainConfig(f"Trying to update option {option} in group {group}, but config "
                                      f"provided contains option {next(iter(config[group]))} instead")
        if not _rows(db, domain_id, group, option, sensitive=True):
            raise DomainConfigNotFound(domain_id, _what(group, option))
    _store(db, domain_id, config)
    return get(db, domain_id)


def remove(db: Session, domain_id: str, group: str | None = None, option: str | None = None) -> None:
    _domain(db, domain_id)
    check_group_and_option(group, option)
    rows = _rows(db, domain_id, group, option, sensitive=True)
    if group and not rows:
        raise DomainConfigNotFound(domain_id, _what(group, option))
    for r in rows:
        db.delete(r)
    db.flush()


def remove_all(db: Session, domain_id: str) -> None:
    """Drop a deleted domain's configuration."""
    db.execute(delete(DomainConfigOption).where(DomainConfigOption.domain_id == domain_id))


def defaults(group: str | None = None, option: str | None = None) -> dict:
    check_group_and_option(group, option)
    if option:
        if option not in DEFAULTS[group]:
            raise InvalidDomainConfig(f"Reading the default for option {option} in group {group} is "
                                      "not supported")
        return {option: DEFAULTS[group][option]}
    return {g: dict(DEFAULTS[g]) for g in ([group] if group else DEFAULTS)}


def options(db: Session, domain_id: str) -> dict[str, dict[str, Any]]:
    """The domain's configuration over the defaults, sensitive options included."""
    stored = _nest(_rows(db, domain_id, sensitive=True))
    return {g: {**DEFAULTS[g], **stored.get(g, {})} for g in DEFAULTS}


def driver(db: Session, domain_id: str) -> str:
    """The identity driver of a domain: ``sql`` unless its configuration says ``ldap``."""
    row = db.get(DomainConfigOption, (domain_id, "identity", "driver"))
    return str(row.value) if row is not None else "sql"
