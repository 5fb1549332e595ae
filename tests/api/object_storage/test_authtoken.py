"""Swift's auth path against Stratus identity, without Swift's servers.

keystonemiddleware's ``auth_token`` runs in this process around a tiny WSGI app,
configured as the object_storage role writes the ``[filter:authtoken]`` section of
proxy-server.conf (password auth as the ``swift`` service user of project ``service``,
``www_authenticate_uri``/``auth_url`` at the controller's ``/identity``,
``delay_auth_decision`` so that tempurl/formpost/anonymous ACL reads reach the
authorizer), and it validates real tokens of a live controller over HTTP. On top of it,
Swift's ``keystoneauth`` as the proxy has it (``operator_roles`` admin, member,
SwiftOperator; ``reseller_admin_role`` ResellerAdmin) authorizes requests for
``/v1/AUTH_<project id>`` paths: what a member, another project's member and the
reseller admin may do there is decided exactly as in the proxy.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.object_store.swift_import import (
    standard_library_kept,
)
from tests.api.conftest import Controller, Creds, _Factory, free_port

pytestmark = [pytest.mark.object_storage, pytest.mark.identity]

OPERATOR_ROLES = "admin, member, SwiftOperator"


@pytest.fixture(scope="module")
def ctl(request, tmp_path_factory) -> Controller:
    """A controller bootstrapped with an object store: the ``swift`` user exists with
    ``service`` and ``ResellerAdmin`` on project ``service``, and the catalog has the
    ``object-store`` endpoint."""
    factory = _Factory(request, tmp_path_factory.mktemp("authtoken"))
    request.addfinalizer(factory.close)
    return factory("sqlite", object_store_url=f"http://127.0.0.1:{free_port()}",
                   object_store_password="swift-" + secrets.token_hex(8))


def authtoken_conf(ctl: Controller, **overrides) -> dict:
    """The ``[filter:authtoken]`` options of the role's proxy-server.conf, bar
    ``cache = swift.cache`` (the proxy's memcache client: here the middleware's
    in-process cache stands in) and with the service catalog passed on, to check it."""
    conf = {
        "auth_type": "password",
        "auth_url": ctl.auth_url,
        "www_authenticate_uri": ctl.auth_url,
        "username": ctl.settings.get("object_store_user", "swift"),
        "password": ctl.settings["object_store_password"],
        "project_name": ctl.settings.get("object_store_project", "service"),
        "user_domain_id": "default",
        "project_domain_id": "default",
        "delay_auth_decision": "True",
        "include_service_catalog": "True",
    }
    conf.update(overrides)
    return conf


class Echo:
    """The app behind the middleware: answers 200 with the identity headers it got."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def __call__(self, environ, start_response):
        self.seen = {k[5:].replace("_", "-").title(): v for k, v in environ.items()
                     if k.startswith("HTTP_X_") and isinstance(v, str)}
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(self.seen).encode()]


def swift_like(environ, start_response):
    """What Swift's proxy does with ``swift.authorize`` before serving a request: a
    denial (401/403) is the answer, else 200 (``X-Swift-Owner`` tells whether
    keystoneauth made the caller the account's owner)."""
    with standard_library_kept():
        from swift.common.swob import Request

    req = Request(environ)
    denied = environ["swift.authorize"](req)
    if denied is not None:
        return denied(environ, start_response)
    owner = "true" if environ.get("swift_owner") else "false"
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Swift-Owner", owner)])
    return [b"ok"]


@pytest.fixture(scope="module")
def echo(ctl):
    from keystonemiddleware import auth_token

    app = Echo()
    return app, auth_token.filter_factory({}, **authtoken_conf(ctl))(app)


@pytest.fixture(scope="module")
def proxy_auth(ctl):
    """authtoken + keystoneauth around :func:`swift_like`, as in the proxy's pipeline."""
    from keystonemiddleware import auth_token

    with standard_library_kept():
        from swift.common.middleware import keystoneauth

    inner = keystoneauth.filter_factory({}, operator_roles=OPERATOR_ROLES,
                                        reseller_admin_role="ResellerAdmin")(swift_like)
    return auth_token.filter_factory({}, **authtoken_conf(ctl))(inner)


def call(app, path: str, token: str | None = None, method: str = "GET"):
    from webob import Request

    headers = {"X-Auth-Token": token} if token else {}
    return Request.blank(path, method=method, headers=headers).get_response(app)


@pytest.fixture(scope="module")
def member(ctl) -> Creds:
    return ctl.new_project_user("member", prefix="swa")


@pytest.fixture(scope="module")
def other(ctl) -> Creds:
    return ctl.new_project_user("member", prefix="swb")


def swift_creds(ctl: Controller) -> Creds:
    return Creds("swift", ctl.settings["object_store_password"], project_name="service")


def expired_token(ctl: Controller, creds: Creds) -> str:
    """A token of ``creds`` signed with the controller's own Fernet keys that expired a
    minute ago (what a client holding a token past its expires_at sends)."""
    from stratus.identity.fernet import FernetKeys
    from stratus.identity.tokens import TokenData, new_audit_id

    now = datetime.now(UTC)
    data = TokenData(creds.user_id, ["password"], "project", creds.project_id,
                     now - timedelta(hours=1), now - timedelta(minutes=1), [new_audit_id()])
    return FernetKeys(Path(ctl.settings["fernet_key_repository"])).encrypt(data.pack())


# --- auth_token: what the app behind it learns -----------------------------------------


def test_member_token_confirmed_with_identity_headers(ctl, echo, member):
    app, mw = echo
    r = call(mw, f"/v1/AUTH_{member.project_id}", ctl.token(member))
    assert r.status_int == 200
    seen = app.seen
    assert seen["X-Identity-Status"] == "Confirmed"
    assert seen["X-Project-Id"] == member.project_id
    assert seen["X-Project-Name"] == member.project_name
    assert seen["X-Project-Domain-Id"] == "default"
    assert seen["X-User-Id"] == member.user_id
    assert seen["X-User-Name"] == member.username
    assert seen["X-User-Domain-Id"] == "default"
    # member implies reader (bootstrap's implied role)
    assert set(seen["X-Roles"].split(",")) == {"member", "reader"}
    catalog = json.loads(seen["X-Service-Catalog"])
    swift = [s for s in catalog if s["type"] == "object-store"]
    assert swift, catalog
    public = swift[0]["endpoints"][0]["publicURL"]
    # the catalog's template is filled with the token's project, the account Swift serves
    assert public == f"{ctl.settings['object_store_url']}/v1/AUTH_{member.project_id}"


def test_other_projects_token_gives_that_project(ctl, echo, member, other):
    app, mw = echo
    call(mw, f"/v1/AUTH_{member.project_id}", ctl.token(other))
    assert app.seen["X-Identity-Status"] == "Confirmed"
    assert app.seen["X-Project-Id"] == other.project_id != member.project_id
    assert app.seen["X-User-Id"] == other.user_id


def test_invalid_token_is_marked_invalid_and_rejected(ctl, echo):
    from keystonemiddleware import auth_token

    app, mw = echo
    # delay_auth_decision: the app is called and told the token is invalid
    r = call(mw, "/v1/AUTH_x", "not-a-token")
    assert r.status_int == 200
    assert app.seen["X-Identity-Status"] == "Invalid"
    assert "X-Project-Id" not in app.seen and "X-Roles" not in app.seen
    # without the delay, the middleware answers itself: 401 and where to authenticate
    strict = auth_token.filter_factory({}, **authtoken_conf(ctl, delay_auth_decision="False"))(Echo())
    r = call(strict, "/v1/AUTH_x", "not-a-token")
    assert r.status_int == 401
    assert r.headers["WWW-Authenticate"] == f"Keystone uri=\"{ctl.auth_url}\""


def test_expired_token_is_invalid(ctl, echo, member):
    app, mw = echo
    call(mw, f"/v1/AUTH_{member.project_id}", expired_token(ctl, member))
    assert app.seen["X-Identity-Status"] == "Invalid"


def test_revoked_token_is_refused(ctl, member):
    """A token revoked with DELETE /v3/auth/tokens is refused once the middleware asks
    identity again: at once without its token cache (``token_cache_time = -1``), else
    when the cached validation ends (token_cache_time, 300 s by default)."""
    from keystonemiddleware import auth_token

    app = Echo()
    mw = auth_token.filter_factory({}, **authtoken_conf(ctl, token_cache_time="-1"))(app)
    token = ctl.token(member)
    call(mw, f"/v1/AUTH_{member.project_id}", token)
    assert app.seen["X-Identity-Status"] == "Confirmed"
    r = ctl.request("DELETE", "/identity/v3/auth/tokens", headers={"X-Subject-Token": token})
    assert r.status_code == 204, r.text
    call(mw, f"/v1/AUTH_{member.project_id}", token)
    assert app.seen["X-Identity-Status"] == "Invalid"


def test_service_users_token_carries_reseller_admin(ctl, echo):
    app, mw = echo
    call(mw, "/v1/AUTH_x", ctl.token(swift_creds(ctl)))
    assert app.seen["X-Identity-Status"] == "Confirmed"
    assert app.seen["X-User-Name"] == "swift"
    assert app.seen["X-Project-Name"] == "service"
    assert {"ResellerAdmin", "service"} <= set(app.seen["X-Roles"].split(","))


# --- keystoneauth on top: who may act on which account ------------------------------------


def test_member_acts_on_own_account_only(ctl, proxy_auth, member, other):
    token = ctl.token(member)
    for method, path in (("GET", f"/v1/AUTH_{member.project_id}"),
                         ("PUT", f"/v1/AUTH_{member.project_id}/c/o"),
                         ("DELETE", f"/v1/AUTH_{member.project_id}/c/o")):
        r = call(proxy_auth, path, token, method)
        assert r.status_int == 200, (method, path, r.status, r.body)
        assert r.headers["X-Swift-Owner"] == "true"
    # another project's account: known user, not allowed -> 403 (not 401)
    for method in ("GET", "PUT"):
        r = call(proxy_auth, f"/v1/AUTH_{other.project_id}/c/o", token, method)
        assert r.status_int == 403, (method, r.status)


def test_invalid_or_missing_token_gets_401_with_where_to_authenticate(ctl, proxy_auth, member):
    for token in ("not-a-token", None, expired_token(ctl, member)):
        r = call(proxy_auth, f"/v1/AUTH_{member.project_id}/c", token)
        assert r.status_int == 401, (token, r.status)
        assert r.headers["WWW-Authenticate"] == f"Keystone uri=\"{ctl.auth_url}\""


def test_role_outside_operator_roles_is_refused_on_own_account(ctl, proxy_auth):
    reader = ctl.new_project_user("reader", prefix="swr")
    r = call(proxy_auth, f"/v1/AUTH_{reader.project_id}/c", ctl.token(reader))
    assert r.status_int == 403


def test_reseller_admin_acts_on_any_account(ctl, proxy_auth, member, other):
    token = ctl.token(swift_creds(ctl))
    for project in (member.project_id, other.project_id):
        for method in ("GET", "PUT", "DELETE"):
            r = call(proxy_auth, f"/v1/AUTH_{project}/c/o", token, method)
            assert r.status_int == 200, (project, method, r.status)
            assert r.headers["X-Swift-Owner"] == "true"
