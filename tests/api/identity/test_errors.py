"""Bad input gets Keystone's error document with a 4xx, never a 500 — explicit cases,
then a bounded schemathesis fuzz of the OpenAPI document against a live server."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.identity, pytest.mark.api]

V3 = "/identity/v3"


def _is_keystone_error(r, code: int) -> None:
    assert r.status_code == code, (r.status_code, r.text)
    err = r.json()["error"]
    assert err["code"] == code and err["title"] and err["message"]
    assert r.headers["X-Openstack-Request-Id"].startswith("req-")


@pytest.mark.parametrize(
    "body, code",
    [
        (b"{not json", 400),
        (b"[]", 400),
        (b'{"auth": "x"}', 400),
        (b'{"auth": {}}', 400),
        (b'{"auth": {"identity": {"methods": "password"}}}', 400),
        (b'{"auth": {"identity": {"methods": ["password"]}}}', 400),
        (b'{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "password": "x"}}}}}', 400),
        (b'{"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "nope", "password": 5}}}}}', 400),
        (b'{"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "nope", "password": "x"}}}}}', 401),
        (b'{"auth": {"identity": {"methods": ["kerberos"], "kerberos": {}}}}', 401),
        (b'{"auth": {"identity": {"methods": ["token"], "token": {"id": "garbage"}}}}', 401),
        (b'{"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "x", "password": "y"}}}, "scope": {"project": {"id": "p"}, "domain": {"id": "d"}}}}', 400),
        (b'{"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "x", "password": "y"}}}, "scope": {}}}', 400),
    ],
)
def test_bad_auth_requests(sqlite_controller, body, code):
    r = sqlite_controller.http.post(f"{V3}/auth/tokens", content=body, headers={"Content-Type": "application/json"})
    _is_keystone_error(r, code)


def test_bad_resource_requests(sqlite_controller):
    c = sqlite_controller
    cases = [
        ("POST", "/projects", {"project": {"name": 5}}, 400),  # wrong type
        ("POST", "/projects", {"project": {"name": "x", "enabled": "yes"}}, 400),  # strict booleans
        ("POST", "/projects", {"projet": {"name": "x"}}, 400),  # unknown top-level key
        ("POST", "/projects", {"project": {}}, 400),  # missing name
        ("POST", "/projects", {"project": {"name": "x", "domain_id": "nope"}}, 400),
        ("POST", "/users", {"user": {"name": ""}}, 400),
        ("POST", "/users/x/application_credentials", {"application_credential": {"name": "a", "bogus": 1}}, 400),
        ("POST", "/endpoints", {"endpoint": {"service_id": "s", "interface": "sideways", "url": "u"}}, 400),
        ("GET", "/projects/does-not-exist", None, 404),
        ("GET", "/users/does-not-exist", None, 404),
        ("PATCH", "/roles/does-not-exist", {"role": {"name": "x"}}, 404),
        ("PUT", "/projects/nope/users/nope/roles/nope", None, 404),
        ("GET", "/projects?enabled=maybe", None, 400),
        ("GET", "/no-such-resource", None, 404),
        ("POST", "/roles", {"role": {"name": "admin"}}, 409),  # duplicate
        ("POST", "/users/x/password", {"user": {"password": "a"}}, 400),
    ]
    for method, path, body, code in cases:
        r = c.request(method, V3 + path, json=body)
        _is_keystone_error(r, code)
    # malformed JSON on a resource
    r = c.request("POST", f"{V3}/projects", content=b"{", headers={"Content-Type": "application/json"})
    _is_keystone_error(r, 400)
    # the default domain cannot be deleted / disabled
    _is_keystone_error(c.request("PATCH", f"{V3}/domains/default", json={"domain": {"enabled": False}}), 403)
    # other services' paths answer in their own fault format
    r = c.http.get("/compute/v2.1/no-such-thing")
    assert r.status_code == 404 and r.json()["itemNotFound"]["code"] == 404
    r = c.http.get("/network/v2.0/no-such-thing")
    assert r.status_code == 404 and r.json()["NeutronError"]["type"]


def _fuzz(c, token: str, max_examples: int, methods: set[str] | None = None):
    """Yield (operation, case, response) for generated requests to every identity
    operation of the controller's OpenAPI document."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings

    schema = schemathesis.openapi.from_url(f"{c.url}/openapi.json")
    seen = []
    for result in schema.get_all_operations():
        op = result.ok()
        if not op.path.startswith("/identity") or (methods and op.method.upper() not in methods):
            continue

        def call(case, op=op):
            resp = case.call(base_url=c.url, headers={"X-Auth-Token": token}, timeout=30)
            seen.append((op, case, resp))

        settings(max_examples=max_examples, deadline=None, database=None, derandomize=True,
                 phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))(
            given(case=op.as_strategy())(lambda case: call(case))
        )()
    return seen


def _show(op, case, resp) -> tuple:
    return (op.method.upper(), op.path, case.path_parameters, case.body, resp.status_code, resp.text[:300])


def test_fuzz_identity_api_never_answers_5xx(controller_factory):
    """Every operation of the OpenAPI document, a few generated requests each, as the
    admin (so requests get past authorization into validation and the DB), then the
    mutating ones as a project member, who must never succeed at any of them. (Three
    examples per operation as the admin, two as the member: every operation is still
    reached by both, at half the requests of six and three.)"""
    c = controller_factory("sqlite")
    seen = _fuzz(c, c.admin_token(), max_examples=3)
    assert len(seen) > 100
    assert not [_show(*x) for x in seen if x[2].status_code >= 500][:5]

    member = c.new_project_user("member")
    seen = _fuzz(c, c.token(member), max_examples=2, methods={"POST", "PUT", "PATCH", "DELETE"})
    assert len(seen) > 40
    assert not [_show(*x) for x in seen if x[2].status_code >= 500][:5]
    allowed = {"/identity/v3/auth/tokens"}  # issuing tokens needs no token at all
    wrongly_ok = [_show(*x) for x in seen if x[2].status_code < 300 and x[0].path not in allowed]
    assert not wrongly_ok[:5]
    assert sum(x[2].status_code == 403 for x in seen) > 20  # refused by policy, not only by validation
