"""How a module reaches an account: a Keystone v3 password login and the catalog's
``object-store`` endpoint, or a token and storage URL given as they are.

``connect(params)`` takes the options of the ``stratus.cloud.object_store`` doc fragment
(``OBJECT_STORE_ARGS``) and returns a :class:`SwiftClient`:

- ``auth`` (``auth_url``, ``username``, ``password``, ``project_name`` or
  ``project_id``, ``user_domain_name``, ``project_domain_name``): ``POST
  <auth_url>/v3/auth/tokens`` with the password method scoped to the project; the
  token is the ``X-Subject-Token`` answer header; the storage URL is the endpoint of
  the catalog's ``object-store`` service on ``interface`` (in ``region_name`` when
  given), unless ``storage_url`` overrides it.
- ``token`` + ``storage_url``: used as given (a service token for another project's
  account, as the controller does with ResellerAdmin).

The pure parts (request body, endpoint choice) are separate functions for unit tests.
"""

from __future__ import annotations

import json

from .client import HTTP, AuthFailed, InvalidRequest, SwiftClient, SwiftHTTPError, ssl_context

AUTH_OPTIONS = dict(
    auth_url=dict(type="str", required=True),
    username=dict(type="str", required=True),
    password=dict(type="str", required=True, no_log=True),
    project_name=dict(type="str"),
    project_id=dict(type="str"),
    user_domain_name=dict(type="str", default="Default"),
    project_domain_name=dict(type="str", default="Default"),
)

OBJECT_STORE_ARGS = dict(
    auth=dict(type="dict", options=AUTH_OPTIONS,
              mutually_exclusive=[("project_name", "project_id")],
              required_one_of=[("project_name", "project_id")]),
    token=dict(type="str", no_log=True),
    storage_url=dict(type="str"),
    region_name=dict(type="str"),
    interface=dict(type="str", default="public", choices=["public", "internal", "admin"]),
    timeout=dict(type="int", default=60),
    validate_certs=dict(type="bool", default=True),
    ca_cert=dict(type="path"),
)

# keyword arguments of AnsibleModule that go with OBJECT_STORE_ARGS
OBJECT_STORE_RULES = dict(
    mutually_exclusive=[("auth", "token")],
    required_one_of=[("auth", "token")],
    required_by={"token": "storage_url"},
)


def identity_v3(auth_url: str) -> str:
    """``auth_url`` as the Keystone v3 base (``.../v3``), as keystoneauth accepts it
    with or without the version."""
    url = auth_url.rstrip("/")
    return url if url.endswith("/v3") else url + "/v3"


def password_body(auth: dict) -> dict:
    """The ``POST /v3/auth/tokens`` body of a project-scoped password login."""
    if auth.get("project_id"):
        project = {"id": auth["project_id"]}
    elif auth.get("project_name"):
        project = {"name": auth["project_name"],
                   "domain": {"name": auth.get("project_domain_name") or "Default"}}
    else:
        raise InvalidRequest("auth needs project_name or project_id: a token without a project "
                             "has no object-store endpoint")
    user = {"name": auth["username"], "password": auth["password"],
            "domain": {"name": auth.get("user_domain_name") or "Default"}}
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": user}},
                     "scope": {"project": project}}}


def object_store_endpoint(catalog: list[dict], interface: str = "public",
                          region_name: str | None = None) -> str:
    """The ``object-store`` URL of a v3 catalog on ``interface`` (and ``region_name``)."""
    services = [s for s in catalog or [] if s.get("type") == "object-store"]
    if not services:
        have = ", ".join(sorted({str(s.get("type")) for s in catalog or []})) or "nothing"
        raise AuthFailed(f"the token's catalog has no object-store service (it has {have}); "
                         "is Swift registered in Keystone (stratus bootstrap with object_store_url)?")
    found = []
    for svc in services:
        for ep in svc.get("endpoints", []):
            region = ep.get("region_id") or ep.get("region")
            found.append(f"{ep.get('interface')}@{region}")
            if ep.get("interface") == interface and (region_name is None or region == region_name):
                return ep["url"]
    where = f"interface {interface}" + (f" in region {region_name}" if region_name else "")
    raise AuthFailed(f"the object-store service has no endpoint for {where} (it has "
                     f"{', '.join(found) or 'none'}); set interface/region_name to one of them")


def password_login(auth: dict, *, timeout: float = 60.0, context=None) -> tuple[str, list[dict]]:
    """``(token, catalog)`` of a Keystone v3 password login."""
    base = identity_v3(auth["auth_url"])
    http = HTTP(base, timeout=timeout, context=context)
    try:
        r = http.request("POST", http.base_path + "/auth/tokens",
                         headers={"Content-Type": "application/json"},
                         body=json.dumps(password_body(auth)).encode("utf-8"), expect=(200, 201))
    except SwiftHTTPError as exc:
        who = f"user {auth['username']} in project {auth.get('project_name') or auth.get('project_id')}"
        raise AuthFailed(f"Keystone at {base} refused the login of {who}: {exc.status} {exc.reason}"
                         f"{': ' + exc.body if exc.body else ''}; check auth_url and the credentials"
                         ) from exc
    token = r.headers.get("x-subject-token")
    if not token:
        raise AuthFailed(f"Keystone at {base} answered the login without an X-Subject-Token header")
    return token, (r.json() or {}).get("token", {}).get("catalog", [])


def connect(params: dict) -> SwiftClient:
    """A client for the account the module options name (see the module docstring)."""
    context = ssl_context(params.get("validate_certs", True), params.get("ca_cert"))
    timeout = params.get("timeout") or 60
    if params.get("token"):
        token, storage_url = params["token"], params.get("storage_url")
        if not storage_url:
            raise InvalidRequest("token needs storage_url (the account URL, like "
                                 "http://proxy:8080/v1/AUTH_<project id>)")
    elif params.get("auth"):
        token, catalog = password_login(params["auth"], timeout=timeout, context=context)
        storage_url = params.get("storage_url") or object_store_endpoint(
            catalog, params.get("interface") or "public", params.get("region_name"))
    else:
        raise InvalidRequest("give auth (a Keystone login) or token with storage_url")
    return SwiftClient(storage_url, token, timeout=timeout, context=context)
