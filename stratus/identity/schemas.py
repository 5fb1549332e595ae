"""Request bodies of the identity API (Keystone v3 wire names), apart from the tables.

Strict types (a string where a boolean belongs is a 400, as in keystone's JSON
schemas); fields keystone accepts as extra properties are allowed and ignored."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", populate_by_name=True)


class _Closed(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)


Name = Field(min_length=1, max_length=255, pattern=r"\S")
# Keystone's resource names (domains, projects) and group names: at most 64 characters.
Name64 = Field(min_length=1, max_length=64, pattern=r"\S")
Tag = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^,/]*$")]
Tags = Field(default_factory=list, max_length=80)


# --- domains ---------------------------------------------------------------------------
class DomainCreate(_In):
    name: str = Name64
    description: str | None = None
    enabled: bool = True
    id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class DomainUpdate(_In):
    name: str | None = Field(None, min_length=1, max_length=64, pattern=r"\S")
    description: str | None = None
    enabled: bool | None = None


class DomainCreateBody(_Closed):
    domain: DomainCreate


class DomainUpdateBody(_Closed):
    domain: DomainUpdate


# --- projects --------------------------------------------------------------------------
class ProjectCreate(_In):
    name: str = Name64
    domain_id: str | None = Field(None, min_length=1, max_length=64)
    parent_id: str | None = Field(None, min_length=1, max_length=64)
    description: str | None = None
    enabled: bool = True
    is_domain: bool = False
    tags: list[Tag] = Tags


class ProjectUpdate(_In):
    name: str | None = Field(None, min_length=1, max_length=64, pattern=r"\S")
    description: str | None = None
    enabled: bool | None = None
    tags: list[Tag] | None = Field(None, max_length=80)


class ProjectTagsBody(_Closed):
    tags: list[Tag] = Tags


class ProjectCreateBody(_Closed):
    project: ProjectCreate


class ProjectUpdateBody(_Closed):
    project: ProjectUpdate


# --- users -----------------------------------------------------------------------------
class UserCreate(_In):
    name: str = Name
    domain_id: str | None = None
    default_project_id: str | None = None
    description: str | None = None
    email: str | None = None
    enabled: bool = True
    password: str | None = Field(None, max_length=4096)
    options: dict | None = None  # checked by stratus.identity.security.validate_options


class UserUpdate(_In):
    name: str | None = Field(None, min_length=1, max_length=255, pattern=r"\S")
    default_project_id: str | None = None
    description: str | None = None
    email: str | None = None
    enabled: bool | None = None
    password: str | None = Field(None, max_length=4096)
    options: dict | None = None  # checked by stratus.identity.security.validate_options


class UserCreateBody(_Closed):
    user: UserCreate


class UserUpdateBody(_Closed):
    user: UserUpdate


class PasswordChange(_Closed):
    password: str = Field(max_length=4096)
    original_password: str = Field(max_length=4096)


class PasswordChangeBody(_Closed):
    user: PasswordChange


# --- groups ----------------------------------------------------------------------------
class GroupCreate(_In):
    name: str = Name64
    domain_id: str | None = None
    description: str | None = None


class GroupUpdate(_In):
    name: str | None = Field(None, min_length=1, max_length=64, pattern=r"\S")
    description: str | None = None


class GroupCreateBody(_Closed):
    group: GroupCreate


class GroupUpdateBody(_Closed):
    group: GroupUpdate


# --- roles -----------------------------------------------------------------------------
class RoleCreate(_In):
    name: str = Name
    domain_id: str | None = Field(None, min_length=1, max_length=64)
    description: str | None = None


class RoleUpdate(_In):
    name: str | None = Field(None, min_length=1, max_length=255, pattern=r"\S")
    description: str | None = None


class RoleCreateBody(_Closed):
    role: RoleCreate


class RoleUpdateBody(_Closed):
    role: RoleUpdate


# --- catalog ---------------------------------------------------------------------------
class RegionCreate(_In):
    id: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = None
    parent_region_id: str | None = None


class RegionUpdate(_In):
    description: str | None = None
    parent_region_id: str | None = None


class RegionCreateBody(_Closed):
    region: RegionCreate


class RegionUpdateBody(_Closed):
    region: RegionUpdate


class ServiceCreate(_In):
    type: str = Name
    name: str | None = Field(None, max_length=255)
    description: str | None = None
    enabled: bool = True


class ServiceUpdate(_In):
    type: str | None = Field(None, min_length=1, max_length=255)
    name: str | None = None
    description: str | None = None
    enabled: bool | None = None


class ServiceCreateBody(_Closed):
    service: ServiceCreate


class ServiceUpdateBody(_Closed):
    service: ServiceUpdate


Interface = Field(pattern=r"^(public|internal|admin)$")


class EndpointCreate(_In):
    service_id: str = Field(min_length=1)
    interface: str = Interface
    url: str = Field(min_length=1, max_length=2048)
    region_id: str | None = Field(None, min_length=1, max_length=255)
    region: str | None = Field(None, min_length=1, max_length=255)
    enabled: bool = True


class EndpointUpdate(_In):
    service_id: str | None = None
    interface: str | None = Field(None, pattern=r"^(public|internal|admin)$")
    url: str | None = Field(None, min_length=1, max_length=2048)
    region_id: str | None = None
    region: str | None = None
    enabled: bool | None = None


class EndpointCreateBody(_Closed):
    endpoint: EndpointCreate


class EndpointUpdateBody(_Closed):
    endpoint: EndpointUpdate


# --- application credentials (keystone rejects unknown fields here) --------------------
class RoleRef(_Closed):
    id: str | None = None
    name: str | None = None
    domain_id: str | None = None


class AppCredCreate(_Closed):
    name: str = Name
    description: str | None = None
    secret: str | None = Field(None, min_length=1, max_length=4096)
    expires_at: str | None = None
    roles: list[RoleRef] | None = None
    unrestricted: bool = False
    access_rules: list[dict] | None = None


class AppCredCreateBody(_Closed):
    application_credential: AppCredCreate


# --- endpoint groups (OS-EP-FILTER) and policies ----------------------------------------
class EndpointGroupCreate(_In):
    name: str = Name
    description: str | None = None
    filters: dict


class EndpointGroupUpdate(_In):
    name: str | None = Field(None, min_length=1, max_length=255, pattern=r"\S")
    description: str | None = None
    filters: dict | None = None


class EndpointGroupCreateBody(_Closed):
    endpoint_group: EndpointGroupCreate


class EndpointGroupUpdateBody(_Closed):
    endpoint_group: EndpointGroupUpdate


class PolicyCreate(_In):
    blob: str
    type: str = Field(min_length=1, max_length=255)


class PolicyUpdate(_In):
    blob: str | None = None
    type: str | None = Field(None, min_length=1, max_length=255)


class PolicyCreateBody(_Closed):
    policy: PolicyCreate


class PolicyUpdateBody(_Closed):
    policy: PolicyUpdate
