"""Domain-specific configuration (``/v3/domains/{id}/config``) with python-keystoneclient's
``domain_configs`` and raw calls for groups, options and defaults: sensitive options are
stored but never returned; unknown groups and options are refused (403, Keystone's
words) without changing anything; a member may not read or write it."""

from __future__ import annotations

import uuid

import pytest
from keystoneauth1 import exceptions as ksa_exc
from keystoneclient.v3 import client as ks_client

pytestmark = [pytest.mark.identity, pytest.mark.api]
V3 = "/identity/v3"


@pytest.fixture(scope="module")
def ctl(sqlite_controller):
    return sqlite_controller


@pytest.fixture(scope="module")
def domain(ctl):
    r = ctl.request("POST", f"{V3}/domains", json={"domain": {"name": f"cfg-{uuid.uuid4().hex[:8]}"}})
    assert r.status_code == 201, r.text
    return r.json()["domain"]["id"]


def test_domain_config_lifecycle_with_keystoneclient(ctl, domain):
    ks = ks_client.Client(session=ctl.conn().session, endpoint_override=ctl.url + V3)
    config = {"identity": {"driver": "ldap"},
              "ldap": {"url": "ldap://127.0.0.1:1", "user_tree_dn": "ou=People,dc=x", "password": "s3cret"}}
    made = ks.domain_configs.create(domain, config)
    assert made.to_dict() == {"identity": {"driver": "ldap"},
                              "ldap": {"url": "ldap://127.0.0.1:1", "user_tree_dn": "ou=People,dc=x"}}
    assert "s3cret" not in str(ks.domain_configs.get(domain).to_dict())
    updated = ks.domain_configs.update(domain, {"ldap": {"user_id_attribute": "uid"}})
    assert updated.to_dict()["ldap"] == {"url": "ldap://127.0.0.1:1", "user_tree_dn": "ou=People,dc=x",
                                         "user_id_attribute": "uid"}

    # groups and options one at a time
    assert ctl.request("GET", f"{V3}/domains/{domain}/config/identity").json() == {
        "config": {"identity": {"driver": "ldap"}}}
    r = ctl.request("PATCH", f"{V3}/domains/{domain}/config/ldap/url", json={"config": {"url": "ldap://h:2"}})
    assert r.status_code == 200 and r.json()["config"]["ldap"]["url"] == "ldap://h:2", r.text
    assert ctl.request("GET", f"{V3}/domains/{domain}/config/ldap/url").json() == {"config": {"url": "ldap://h:2"}}
    r = ctl.request("GET", f"{V3}/domains/{domain}/config/ldap/password")
    assert r.status_code == 404  # sensitive: never shown
    assert ctl.request("DELETE", f"{V3}/domains/{domain}/config/ldap/user_id_attribute").status_code == 204
    r = ctl.request("GET", f"{V3}/domains/{domain}/config/ldap/user_id_attribute")
    assert r.status_code == 404
    assert r.json()["error"]["message"] == (f"Could not find option user_id_attribute in group ldap in domain "
                                            f"configuration for domain {domain}.")

    # PUT again replaces (200); defaults are Keystone's
    r = ctl.request("PUT", f"{V3}/domains/{domain}/config", json={"config": config})
    assert r.status_code == 200 and "user_id_attribute" not in r.json()["config"]["ldap"]
    default = ctl.request("GET", f"{V3}/domains/config/default").json()["config"]
    assert default["identity"]["driver"] == "sql" and default["ldap"]["user_objectclass"] == "inetOrgPerson"
    assert "password" not in default["ldap"]
    assert ctl.request("GET", f"{V3}/domains/config/default/ldap/user_id_attribute").json() == {
        "config": {"user_id_attribute": "cn"}}

    ks.domain_configs.delete(domain)
    with pytest.raises(ksa_exc.NotFound):
        ks.domain_configs.get(domain)


def test_invalid_config_is_refused_and_changes_nothing(ctl, domain):
    ctl.request("PUT", f"{V3}/domains/{domain}/config", json={"config": {"ldap": {"url": "ldap://a"}}})
    before = ctl.request("GET", f"{V3}/domains/{domain}/config").json()
    cases = [
        ("PUT", "", {"config": {"ldap": {"url": "ldap://b"}, "token": {"expiration": 1}}},
         "Invalid domain specific configuration: Group token is not supported for domain specific "
         "configurations."),
        ("PATCH", "", {"config": {"ldap": {"no_such": 1}}},
         "Invalid domain specific configuration: Option no_such in group ldap is not supported for "
         "domain specific configurations."),
        ("PUT", "", {"config": {}}, "Invalid domain specific configuration: No options specified."),
        ("PATCH", "/ldap", {"config": {"identity": {"driver": "sql"}}},
         "Invalid domain specific configuration: request to update group ldap, but config provided "
         "contains group identity instead."),
        ("PUT", "", {"config": {"identity": {"driver": "ad"}}},
         "Invalid domain specific configuration: The identity driver 'ad' is not supported; use one of "
         "sql, ldap."),
    ]
    for method, sub, body, message in cases:
        r = ctl.request(method, f"{V3}/domains/{domain}/config{sub}", json=body)
        assert r.status_code == 403 and r.json()["error"]["message"] == message, r.text
    r = ctl.request("PATCH", f"{V3}/domains/{domain}/config/identity", json={"config": {"identity": {"driver": "sql"}}})
    assert r.status_code == 404 and "group identity" in r.text
    assert ctl.request("PUT", f"{V3}/domains/nope/config", json={"config": {"ldap": {"url": "x"}}}).status_code == 404
    member = ctl.new_project_user(prefix="cfgm")
    tok = ctl.token(member)
    assert ctl.request("GET", f"{V3}/domains/{domain}/config", token=tok).status_code == 403
    r = ctl.request("PUT", f"{V3}/domains/{domain}/config", token=tok, json={"config": {"ldap": {"url": "ldap://m"}}})
    assert r.status_code == 403
    assert ctl.request("GET", f"{V3}/domains/{domain}/config").json() == before
