"""OS-OAUTH1 through the real clients: `openstack consumer create/list/delete`,
`request token create`, `request token authorize`, `access token create`, then
keystoneauth's ``v3.OAuth1`` plugin getting a delegated token and using it. Refusals
(bad signature, unknown consumer, reused request token, a member creating consumers)
change nothing; a user never lists another's access tokens."""

from __future__ import annotations

import pytest
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.extras.oauth1 import v3 as oauth1_v3
from keystoneauth1.identity import v3
from keystoneclient.v3 import client as ks_client
from oauthlib import oauth1

pytestmark = [pytest.mark.identity, pytest.mark.api]

V3 = "/identity/v3"


@pytest.fixture(scope="module")
def ctl(_controllers):
    return _controllers("sqlite")


@pytest.fixture(scope="module")
def people(ctl):
    """owner: member and reader of a project; other: member elsewhere."""
    owner = ctl.new_project_user("member", prefix="own")
    reader = ctl.request("GET", f"{V3}/roles", params={"name": "reader"}).json()["roles"][0]
    r = ctl.request(
        "PUT", f"{V3}/projects/{owner.project_id}/users/{owner.user_id}/roles/{reader['id']}"
    )
    assert r.status_code == 204, r.text
    return {"owner": owner, "other": ctl.new_project_user("member", prefix="oth")}


def _consumers(ctl) -> set[str]:
    return {c["ID"] for c in ctl.cli("consumer", "list", "-f", "json")}


def _signed_post(ctl, path, consumer, *, secret=None, token=None, verifier=None, headers=None):
    """POST ``path`` signed as oauthlib does for keystoneclient (``secret`` overrides
    the consumer's, to forge a bad signature)."""
    client = oauth1.Client(
        consumer["id"], client_secret=secret or consumer["secret"],
        resource_owner_key=token and token["id"], resource_owner_secret=token and token["secret"],
        verifier=verifier, signature_method=oauth1.SIGNATURE_HMAC, callback_uri="oob",
    )
    _, signed, _ = client.sign(ctl.url + V3 + path, http_method="POST", headers=headers)
    return ctl.http.post(V3 + path, headers=signed)


def _role_ids(ctl, names) -> list[str]:
    return [ctl.request("GET", f"{V3}/roles", params={"name": n}).json()["roles"][0]["id"] for n in names]


def _delegate(ctl, owner, roles=("member",)):
    """A consumer, and an access token ``owner`` delegated ``roles`` on their project to
    it: the CLI for every step but the member's authorization, which goes through
    keystoneclient (`openstack request token authorize` looks role names up with
    list_roles, which a member may not call, in Keystone too)."""
    consumer = ctl.cli("consumer", "create", "--description", "app", "-f", "json")
    consumer = {"id": consumer["id"], "secret": consumer["secret"]}
    req = ctl.cli(
        "request", "token", "create", "--consumer-key", consumer["id"],
        "--consumer-secret", consumer["secret"], "--project", owner.project_id or owner.project_name,
        "-f", "json",
    )
    if owner is ctl.admin:
        role_args = [a for r in roles for a in ("--role", r)]
        verifier = ctl.cli(
            "request", "token", "authorize", "--request-key", req["id"], *role_args, "-f", "json",
        )["oauth_verifier"]
    else:
        ks = ks_client.Client(session=ks_session.Session(auth=v3.Password(**owner.auth(ctl.auth_url + "/v3"))))
        verifier = ks.oauth1.request_tokens.authorize(req["id"], _role_ids(ctl, roles)).oauth_verifier
    access = ctl.cli(
        "access", "token", "create", "--consumer-key", consumer["id"],
        "--consumer-secret", consumer["secret"], "--request-key", req["id"],
        "--request-secret", req["secret"], "--verifier", verifier, "-f", "json",
    )
    return consumer, req, verifier, access


def _oauth_session(ctl, consumer, access) -> ks_session.Session:
    auth = oauth1_v3.OAuth1(
        ctl.auth_url + "/v3", consumer_key=consumer["id"], consumer_secret=consumer["secret"],
        access_key=access["id"], access_secret=access["secret"],
    )
    return ks_session.Session(auth=auth)


def test_cli_authorization_by_the_admin(ctl):
    """`openstack request token authorize` with role names (the admin may look roles up)."""
    consumer, _, _, access = _delegate(ctl, ctl.admin, roles=("reader",))
    token = _oauth_session(ctl, consumer, access).get_token()
    doc = ctl.request("GET", f"{V3}/auth/tokens", headers={"X-Subject-Token": token}).json()["token"]
    assert [r["name"] for r in doc["roles"]] == ["reader"]
    assert doc["OS-OAUTH1"]["consumer_id"] == consumer["id"]
    # reader only: the delegated token cannot do what the admin can
    r = ctl.request("POST", f"{V3}/OS-OAUTH1/consumers", token=token, json={"consumer": {}})
    assert r.status_code == 403, r.text


def test_delegated_token_carries_only_the_authorized_roles(ctl, people):
    owner = people["owner"]
    consumer, _, _, access = _delegate(ctl, owner, roles=("reader",))
    sess = _oauth_session(ctl, consumer, access)
    token = sess.get_token()
    doc = ctl.request("GET", f"{V3}/auth/tokens", headers={"X-Subject-Token": token}).json()["token"]
    assert doc["methods"] == ["oauth1"]
    assert doc["OS-OAUTH1"] == {"access_token_id": access["id"], "consumer_id": consumer["id"]}
    assert doc["user"]["id"] == owner.user_id
    assert doc["project"]["id"] == owner.project_id
    assert [r["name"] for r in doc["roles"]] == ["reader"]  # not member, which owner holds
    # the token works as the owner's, on the project
    r = ctl.request("GET", f"{V3}/users/{owner.user_id}", token=token)
    assert r.status_code == 200, r.text
    # the owner sees the access token and its roles; an access token cannot rescope
    shown = ctl.request(
        "GET", f"{V3}/users/{owner.user_id}/OS-OAUTH1/access_tokens/{access['id']}",
        token=ctl.token(owner),
    ).json()["access_token"]
    assert shown["consumer_id"] == consumer["id"] and shown["project_id"] == owner.project_id
    roles = ctl.request(
        "GET", f"{V3}/users/{owner.user_id}/OS-OAUTH1/access_tokens/{access['id']}/roles",
        token=ctl.token(owner),
    ).json()["roles"]
    assert [r["name"] for r in roles] == ["reader"]
    rescope = ctl.http.post(f"{V3}/auth/tokens", json={"auth": {"identity": {
        "methods": ["token"], "token": {"id": token}}}})
    assert rescope.status_code == 403, rescope.text
    # a delegated token cannot authorize further request tokens
    req = _signed_post(ctl, "/OS-OAUTH1/request_token", consumer,
                       headers={"Requested-Project-Id": owner.project_id})
    assert req.status_code == 201, req.text
    req_id = dict(p.split("=", 1) for p in req.text.split("&"))["oauth_token"]
    r = ctl.request("PUT", f"{V3}/OS-OAUTH1/authorize/{req_id}", token=token,
                    json={"roles": [{"name": "reader"}]})
    assert r.status_code == 403 and "delegation" in r.text, r.text
    # nor list access tokens, nor create a trust (Keystone's refusals)
    r = ctl.request("GET", f"{V3}/users/{owner.user_id}/OS-OAUTH1/access_tokens", token=token)
    assert r.status_code == 403 and "delegation" in r.text, r.text
    trust = {"trustor_user_id": owner.user_id, "trustee_user_id": people["other"].user_id,
             "project_id": owner.project_id, "impersonation": False, "roles": [{"name": "reader"}]}
    r = ctl.request("POST", f"{V3}/OS-TRUST/trusts", token=token, json={"trust": trust})
    assert r.status_code == 403 and "delegation" in r.text, r.text
    trusts = ctl.request("GET", f"{V3}/OS-TRUST/trusts", params={"trustor_user_id": owner.user_id})
    assert trusts.json()["trusts"] == []

    # deleting the access token ends the delegated token, and the plugin can't get another
    r = ctl.request(
        "DELETE", f"{V3}/users/{owner.user_id}/OS-OAUTH1/access_tokens/{access['id']}",
        token=ctl.token(owner),
    )
    assert r.status_code == 204, r.text
    r = ctl.request("GET", f"{V3}/auth/tokens", headers={"X-Subject-Token": token})
    assert r.status_code == 404 or r.status_code == 401, r.text
    with pytest.raises(ks_exc.Unauthorized):
        _oauth_session(ctl, consumer, access).get_token()


def test_deleting_the_consumer_ends_its_tokens(ctl, people):
    owner = people["owner"]
    consumer, _, _, access = _delegate(ctl, owner)
    token = _oauth_session(ctl, consumer, access).get_token()
    assert ctl.request("GET", f"{V3}/auth/tokens", headers={"X-Subject-Token": token}).status_code == 200
    ctl.cli("consumer", "delete", consumer["id"])
    assert consumer["id"] not in _consumers(ctl)
    r = ctl.request("GET", f"{V3}/auth/tokens", headers={"X-Subject-Token": token})
    assert r.status_code in (401, 404), r.text
    r = ctl.request("GET", f"{V3}/users/{owner.user_id}/OS-OAUTH1/access_tokens", token=ctl.token(owner))
    assert access["id"] not in {a["id"] for a in r.json()["access_tokens"]}


def test_refusals_change_nothing(ctl, people):
    owner, other = people["owner"], people["other"]
    before = _consumers(ctl)
    # a member creating a consumer
    r = ctl.cli("consumer", "create", creds=owner, check=False)
    assert r.returncode != 0 and "403" in r.stderr + r.stdout
    assert _consumers(ctl) == before

    consumer, req, verifier, access = _delegate(ctl, owner)
    before = _consumers(ctl)
    tokens_before = ctl.request(
        "GET", f"{V3}/users/{owner.user_id}/OS-OAUTH1/access_tokens", token=ctl.token(owner)
    ).json()["access_tokens"]
    hdr = {"Requested-Project-Id": owner.project_id}
    # a bad signature, an unknown consumer, no project
    r = _signed_post(ctl, "/OS-OAUTH1/request_token", consumer, secret="wrong", headers=hdr)
    assert r.status_code == 401 and "Invalid signature" in r.text, r.text
    r = _signed_post(ctl, "/OS-OAUTH1/request_token", {"id": "nope", "secret": "x"}, headers=hdr)
    assert r.status_code == 401 and "consumer does not exist" in r.text, r.text
    r = _signed_post(ctl, "/OS-OAUTH1/request_token", consumer)
    assert r.status_code == 400 and "Requested-Project-Id" in r.text, r.text
    # the traded request token cannot be traded again
    r = _signed_post(ctl, "/OS-OAUTH1/access_token", consumer, token=req, verifier=verifier)
    assert r.status_code == 404 and "request token" in r.text, r.text
    # a role the user does not hold, and a wrong verifier
    made = _signed_post(ctl, "/OS-OAUTH1/request_token", consumer, headers=hdr)
    fresh = dict(p.split("=", 1) for p in made.text.split("&"))
    fresh = {"id": fresh["oauth_token"], "secret": fresh["oauth_token_secret"]}
    r = ctl.request("PUT", f"{V3}/OS-OAUTH1/authorize/{fresh['id']}", token=ctl.token(other),
                    json={"roles": [{"name": "member"}]})  # member of another project
    assert r.status_code == 401 and "does not have role" in r.text, r.text
    r = ctl.request("PUT", f"{V3}/OS-OAUTH1/authorize/{fresh['id']}", token=ctl.token(owner),
                    json={"roles": [{"name": "admin"}]})
    assert r.status_code == 401 and "does not have role" in r.text, r.text
    r = ctl.request("PUT", f"{V3}/OS-OAUTH1/authorize/{fresh['id']}", token=ctl.token(owner),
                    json={"roles": [{"name": "member"}]})
    assert r.status_code == 200, r.text
    r = _signed_post(ctl, "/OS-OAUTH1/access_token", consumer, token=fresh, verifier="00000000")
    assert r.status_code == 401 and "verifier" in r.text, r.text
    # a delegated token signed with a wrong access secret
    with pytest.raises(ks_exc.Unauthorized):
        _oauth_session(ctl, consumer, {**access, "secret": "wrong"}).get_token()
    assert _consumers(ctl) == before
    after = ctl.request(
        "GET", f"{V3}/users/{owner.user_id}/OS-OAUTH1/access_tokens", token=ctl.token(owner)
    ).json()["access_tokens"]
    assert after == tokens_before


def test_a_user_never_lists_anothers_access_tokens(ctl, people):
    owner, other = people["owner"], people["other"]
    _, _, _, access = _delegate(ctl, owner)
    path = f"{V3}/users/{owner.user_id}/OS-OAUTH1/access_tokens"
    assert access["id"] in {a["id"] for a in ctl.request("GET", path, token=ctl.token(owner)).json()["access_tokens"]}
    as_other = ctl.token(other)
    assert ctl.request("GET", path, token=as_other).status_code == 403
    assert ctl.request("GET", f"{path}/{access['id']}", token=as_other).status_code == 403
    r = ctl.request("DELETE", f"{path}/{access['id']}", token=as_other)
    assert r.status_code == 403
    own = ctl.request("GET", f"{V3}/users/{other.user_id}/OS-OAUTH1/access_tokens", token=as_other)
    assert own.status_code == 200 and own.json()["access_tokens"] == []
    # the token id under the other user's path is not found either
    r = ctl.request("GET", f"{V3}/users/{other.user_id}/OS-OAUTH1/access_tokens/{access['id']}",
                    token=as_other)
    assert r.status_code == 404
    assert access["id"] in {a["id"] for a in ctl.request("GET", path, token=ctl.token(owner)).json()["access_tokens"]}
