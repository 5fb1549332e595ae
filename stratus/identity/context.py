"""The authenticated caller of a request, as a validated token describes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class RequestContext:
    user_id: str
    user_name: str
    user_domain_id: str
    roles: tuple[str, ...] = ()  # role names, implied roles included
    role_ids: tuple[str, ...] = ()
    project_id: str | None = None
    project_name: str | None = None
    project_domain_id: str | None = None
    domain_id: str | None = None  # domain-scoped token
    domain_name: str | None = None
    system_scope: str | None = None  # "all" for a system-scoped token
    methods: tuple[str, ...] = ()
    audit_ids: tuple[str, ...] = ()
    expires_at: datetime | None = None
    issued_at: datetime | None = None
    app_cred_id: str | None = None
    trust_id: str | None = None  # a trust-scoped token (OS-TRUST)
    oauth_access_token_id: str | None = None  # a delegated token (OS-OAUTH1)
    # an application credential's access rules: the only requests the token may make
    access_rules: tuple[dict, ...] = ()
    is_admin_project: bool = False  # the project is the configured admin project
    token: str = field(default="", repr=False)
    request_id: str | None = None

    @property
    def is_admin(self) -> bool:
        """The cloud administrator: the ``admin`` role on the system, or on the admin
        project (Keystone's ``admin_project_name``). ``admin`` on any other project
        administers that project only."""
        return "admin" in self.roles and (self.system_scope == "all" or self.is_admin_project)

    @property
    def scope(self) -> str:
        if self.system_scope:
            return "system"
        if self.project_id:
            return "project"
        if self.domain_id:
            return "domain"
        return "unscoped"

    def policy_credentials(self) -> dict:
        return {
            "user_id": self.user_id,
            "user_domain_id": self.user_domain_id,
            "project_id": self.project_id,
            "project_domain_id": self.project_domain_id,
            "domain_id": self.domain_id,
            "system_scope": self.system_scope,
            "roles": list(self.roles),
            "is_admin": self.is_admin,
            "is_admin_project": self.is_admin_project,
        }
