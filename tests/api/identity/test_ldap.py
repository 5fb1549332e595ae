"""An LDAP identity backend per domain against a real ``slapd`` started here (its own
config on 127.0.0.1, entries loaded with ``ldapadd``), configured through the domain
configuration API: users and groups come from the directory, an LDAP user logs in with
``openstack token issue`` (an LDAP bind checks the password), role assignments (user and
group) stay in the DB, the domain is read-only, and a user removed from the directory
is gone."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
import uuid

import pytest

from tests.api.conftest import Creds, free_port

pytestmark = [pytest.mark.identity, pytest.mark.api]
V3 = "/identity/v3"
SUFFIX = "dc=stratus,dc=test"
ADMIN_DN, ADMIN_PW = f"cn=admin,{SUFFIX}", "admin-pw-1"

SLAPD_CONF = f"""include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
database mdb
suffix "{SUFFIX}"
rootdn "{ADMIN_DN}"
rootpw {ADMIN_PW}
directory {{db}}
maxsize 10485760
"""

ENTRIES = f"""dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
o: stratus test
dc: stratus

dn: ou=People,{SUFFIX}
objectClass: organizationalUnit
ou: People

dn: ou=Groups,{SUFFIX}
objectClass: organizationalUnit
ou: Groups

""" + "\n".join(f"""dn: uid={uid},ou=People,{SUFFIX}
objectClass: inetOrgPerson
uid: {uid}
cn: {uid.title()}
sn: {uid.title()}son
mail: {uid}@example.org
description: {uid} from the directory
userPassword: {uid}-pw
""" for uid in ("alice", "bob", "carol")) + f"""
dn: cn=devs,ou=Groups,{SUFFIX}
objectClass: groupOfNames
cn: devs
member: uid=alice,ou=People,{SUFFIX}
member: uid=carol,ou=People,{SUFFIX}

dn: cn=ops,ou=Groups,{SUFFIX}
objectClass: groupOfNames
cn: ops
member: uid=bob,ou=People,{SUFFIX}
"""


def _ldap(tool: str, url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([tool, "-x", "-H", url, "-D", ADMIN_DN, "-w", ADMIN_PW, *args], input=stdin,
                          capture_output=True, text=True, timeout=30)


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    """A slapd on 127.0.0.1 with a temp slapd.conf and database, loaded with ldapadd."""
    if shutil.which("slapd") is None and not shutil.which("/usr/sbin/slapd"):
        pytest.fail("slapd is not installed: apt-get install slapd ldap-utils (apt-packages.txt)")
    root = tmp_path_factory.mktemp("slapd")
    (root / "db").mkdir()
    (root / "slapd.conf").write_text(SLAPD_CONF.format(db=root / "db"))
    url = f"ldap://127.0.0.1:{free_port()}"
    proc = subprocess.Popen(["/usr/sbin/slapd", "-h", url, "-f", str(root / "slapd.conf"), "-d", "0"],
                            stdout=subprocess.DEVNULL, stderr=open(root / "slapd.log", "w"))  # noqa: SIM115
    try:
        deadline = time.monotonic() + 20
        while _ldap("ldapwhoami", url).returncode != 0:
            assert proc.poll() is None and time.monotonic() < deadline, (root / "slapd.log").read_text()
            time.sleep(0.05)
        r = _ldap("ldapadd", url, stdin=ENTRIES)
        assert r.returncode == 0, r.stderr
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def ctl(sqlite_controller):
    return sqlite_controller


@pytest.fixture(scope="module")
def domain(ctl, slapd):
    r = ctl.request("POST", f"{V3}/domains", json={"domain": {"name": f"ldap-{uuid.uuid4().hex[:8]}"}})
    assert r.status_code == 201, r.text
    did = r.json()["domain"]["id"]
    config = {"identity": {"driver": "ldap"},
              "ldap": {"url": slapd, "user": ADMIN_DN, "password": ADMIN_PW, "suffix": SUFFIX,
                       "user_tree_dn": f"ou=People,{SUFFIX}", "user_objectclass": "inetOrgPerson",
                       "user_id_attribute": "uid", "user_name_attribute": "uid",
                       "group_tree_dn": f"ou=Groups,{SUFFIX}", "group_objectclass": "groupOfNames",
                       "group_id_attribute": "cn", "group_name_attribute": "cn"}}
    r = ctl.request("PUT", f"{V3}/domains/{did}/config", json={"config": config})
    assert r.status_code == 201, r.text
    yield did
    ctl.request("PATCH", f"{V3}/domains/{did}", json={"domain": {"enabled": False}})
    ctl.request("DELETE", f"{V3}/domains/{did}")


def public_id(domain_id: str, local_id: str, kind: str) -> str:
    """Keystone's sha256 mapping: domain_id, entity_type, local_id in key order."""
    return hashlib.sha256(f"{domain_id}{kind}{local_id}".encode()).hexdigest()


def test_ldap_users_and_groups_come_from_the_directory(ctl, domain):
    users = ctl.cli("user", "list", "--domain", domain, "--long", "-f", "json")
    assert {(u["Name"], u["ID"], u["Email"], u["Enabled"]) for u in users} == {
        (uid, public_id(domain, uid, "user"), f"{uid}@example.org", True) for uid in ("alice", "bob", "carol")}
    groups = ctl.cli("group", "list", "--domain", domain, "-f", "json")
    assert {(g["Name"], g["ID"]) for g in groups} == {
        (cn, public_id(domain, cn, "group")) for cn in ("devs", "ops")}
    members = ctl.request("GET", f"{V3}/groups/{public_id(domain, 'devs', 'group')}/users").json()["users"]
    assert sorted(u["name"] for u in members) == ["alice", "carol"]
    alice = ctl.request("GET", f"{V3}/users/{public_id(domain, 'alice', 'user')}").json()["user"]
    assert alice["description"] == "alice from the directory" and alice["domain_id"] == domain


def test_an_ldap_user_logs_in_with_openstack_token_issue(ctl, domain):
    sfx = uuid.uuid4().hex[:8]
    p1, p2 = (ctl.request("POST", f"{V3}/projects", json={"project": {"name": f"ldap-{n}-{sfx}"}})
              .json()["project"]["id"] for n in ("p1", "p2"))
    alice, devs = public_id(domain, "alice", "user"), public_id(domain, "devs", "group")
    ctl.cli("role", "add", "--project", p1, "--user", alice, "member")
    ctl.cli("role", "add", "--project", p2, "--group", devs, "reader")  # through LDAP membership

    creds = Creds("alice", "alice-pw", project_id=p1, user_domain_id=domain)
    tok = ctl.cli("token", "issue", "-f", "json", creds=creds)
    assert (tok["user_id"], tok["project_id"]) == (alice, p1)
    tok = ctl.cli("token", "issue", "-f", "json", creds=Creds("alice", "alice-pw", project_id=p2,
                                                                user_domain_id=domain))
    assert tok["project_id"] == p2
    r = ctl.request("GET", f"{V3}/auth/tokens", headers={"X-Subject-Token": tok["id"]})
    assert [x["name"] for x in r.json()["token"]["roles"]] == ["reader"]

    r = ctl.cli("token", "issue", creds=Creds("alice", "wrong", project_id=p1, user_domain_id=domain),
                check=False)
    assert r.returncode != 0 and "The request you have made requires authentication" in r.stderr
    for who, pw in (("alice", "wrong"), ("alice", ""), ("nobody", "x"), ("bob", "alice-pw")):
        user = {"name": who, "domain": {"id": domain}, "password": pw}
        r = ctl.http.post(f"{V3}/auth/tokens", json={"auth": {"identity": {
            "methods": ["password"], "password": {"user": user}}}})
        assert r.status_code == 401, (who, pw, r.text)
    # bob exists but has no role on p1: authenticated, not authorized to scope
    r = ctl.cli("token", "issue", creds=Creds("bob", "bob-pw", project_id=p1, user_domain_id=domain),
                check=False)
    assert r.returncode != 0 and "has no access to project" in r.stderr


def test_the_ldap_domain_is_read_only_and_follows_the_directory(ctl, domain, slapd):
    alice, devs = public_id(domain, "alice", "user"), public_id(domain, "devs", "group")
    before = ctl.request("GET", f"{V3}/users", params={"domain_id": domain}).json()["users"]
    refused = [
        ("POST", f"{V3}/users", {"user": {"name": "dave", "domain_id": domain, "password": "x"}}),
        ("PATCH", f"{V3}/users/{alice}", {"user": {"email": "evil@example.org"}}),
        ("DELETE", f"{V3}/users/{alice}", None),
        ("POST", f"{V3}/groups", {"group": {"name": "new", "domain_id": domain}}),
        ("PUT", f"{V3}/groups/{devs}/users/{public_id(domain, 'bob', 'user')}", None),
        ("DELETE", f"{V3}/groups/{devs}/users/{alice}", None),
    ]
    for method, path, body in refused:
        r = ctl.request(method, path, json=body) if body else ctl.request(method, path)
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["error"]["message"] == "LDAP does not support write operations"
    alice_token = ctl.token(Creds("alice", "alice-pw", user_domain_id=domain))
    r = ctl.request("POST", f"{V3}/users/{alice}/password", token=alice_token,
                    json={"user": {"original_password": "alice-pw", "password": "new-pw"}})
    assert r.status_code == 403 and "LDAP does not support write operations" in r.text, r.text
    assert ctl.request("GET", f"{V3}/users", params={"domain_id": domain}).json()["users"] == before
    assert ctl.token(Creds("alice", "alice-pw", user_domain_id=domain))

    # a user removed from the directory is gone from the domain and cannot log in
    r = _ldap("ldapdelete", slapd, f"uid=carol,ou=People,{SUFFIX}")
    assert r.returncode == 0, r.stderr
    names = [u["name"] for u in ctl.request("GET", f"{V3}/users", params={"domain_id": domain}).json()["users"]]
    assert names == ["alice", "bob"]
    r = ctl.cli("token", "issue", creds=Creds("carol", "carol-pw", user_domain_id=domain), check=False)
    assert r.returncode != 0
    # SQL domains are untouched: the default domain's users are still made and changed
    member = ctl.new_project_user(prefix="ldapsql")
    assert ctl.cli("token", "issue", "-f", "json", creds=member)["user_id"] == member.user_id
