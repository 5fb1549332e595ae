"""Key pairs as Nova has them: generate (private key once) and import with the CLI and
openstacksdk, Nova's fingerprints checked against ssh-keygen, x509 (2.2), another
user's key pairs for admins (2.10), paging (2.35), quota and name refusals."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from tests.api.compute.test_flavors import fault, nova


@pytest.fixture(scope="module")
def user(sqlite_controller):
    return sqlite_controller.new_project_user("member", prefix="kp")


def _name() -> str:
    return "k-" + uuid.uuid4().hex[:8]


def _public_of(private: str, tmp_path) -> str:
    (tmp_path / "id").write_text(private.strip() + "\n")
    (tmp_path / "id").chmod(0o600)
    return subprocess.run(["ssh-keygen", "-y", "-f", str(tmp_path / "id")], capture_output=True,
                          text=True, check=True).stdout.split()[1]


def _md5(public_key: str) -> str:
    return subprocess.run(["ssh-keygen", "-l", "-E", "md5", "-f", "/dev/stdin"], input=public_key,
                          capture_output=True, text=True, check=True).stdout.split()[1]


def test_generate_private_key_once(sqlite_controller, user, tmp_path):
    c = sqlite_controller
    name = _name()
    made = nova(c, "POST", "/os-keypairs", version="2.2", creds=user, json={"keypair": {"name": name}})
    assert made.status_code == 201
    private = made.json()["keypair"]["private_key"]
    assert private.startswith("-----BEGIN RSA PRIVATE KEY-----")
    shown = nova(c, "GET", f"/os-keypairs/{name}", version="2.2", creds=user).json()["keypair"]
    assert shown["public_key"].split()[1] == _public_of(private, tmp_path)
    assert shown["type"] == "ssh" and shown["user_id"] == user.user_id and "private_key" not in shown
    assert _md5(shown["public_key"]) == "MD5:" + shown["fingerprint"]
    c.cli("keypair", "delete", name, creds=user)
    assert fault(nova(c, "GET", f"/os-keypairs/{name}", creds=user), 404) == \
        f"Keypair {name} not found for user {user.user_id}"


def test_cli_create_and_list(sqlite_controller, user, tmp_path):
    """The CLI makes the key itself and imports the public part; Nova's fingerprint."""
    c = sqlite_controller
    name = _name()
    private = c.cli("keypair", "create", name, creds=user)
    public = _public_of(private, tmp_path)
    shown = c.conn(user).compute.get_keypair(name)
    assert shown.public_key.split()[1] == public
    listed = c.cli("keypair", "list", "-f", "json", creds=user)
    assert "MD5:" + {k["Name"]: k["Fingerprint"] for k in listed}[name] == _md5(shown.public_key)
    c.cli("keypair", "delete", name, creds=user)


def test_import_public_key_and_refusals(sqlite_controller, user, tmp_path):
    c = sqlite_controller
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    name = _name()
    made = c.cli("keypair", "create", "--public-key", str(tmp_path / "k.pub"), "-f", "json", name, creds=user)
    expect = subprocess.run(["ssh-keygen", "-l", "-E", "md5", "-f", str(tmp_path / "k.pub")],
                            capture_output=True, text=True, check=True).stdout.split()[1]
    assert "MD5:" + made["fingerprint"] == expect
    r = nova(c, "POST", "/os-keypairs", version="2.2", creds=user,
             json={"keypair": {"name": name, "public_key": (tmp_path / "k.pub").read_text()}})
    assert fault(r, 409) == f"Key pair '{name}' already exists."
    r = nova(c, "POST", "/os-keypairs", creds=user, json={"keypair": {"name": _name(), "public_key": "ssh-rsa AAAA"}})
    assert fault(r, 400) == "Keypair data is invalid: failed to generate fingerprint"
    r = nova(c, "POST", "/os-keypairs", creds=user, json={"keypair": {"name": "bad/name"}})
    assert fault(r, 400) == "Keypair data is invalid: Keypair name contains unsafe characters"
    r = nova(c, "POST", "/os-keypairs", version="2.1", creds=user, json={"keypair": {"name": _name(), "type": "x509"}})
    assert "Additional properties are not allowed ('type' was unexpected)" in fault(r, 400)
    names = {k["keypair"]["name"] for k in nova(c, "GET", "/os-keypairs", creds=user).json()["keypairs"]}
    assert name in names and "bad/name" not in names and len(names) == 1
    assert nova(c, "DELETE", f"/os-keypairs/{name}", version="2.2", creds=user).status_code == 204


def test_x509_and_status_codes_by_version(sqlite_controller, user):
    c = sqlite_controller
    name = _name()
    r = nova(c, "POST", "/os-keypairs", version="2.2", creds=user, json={"keypair": {"name": name, "type": "x509"}})
    assert r.status_code == 201
    key = r.json()["keypair"]
    assert key["type"] == "x509" and key["public_key"].startswith("-----BEGIN CERTIFICATE-----")
    assert "BEGIN RSA PRIVATE KEY" in key["private_key"] and len(key["fingerprint"].split(":")) == 20
    assert nova(c, "DELETE", f"/os-keypairs/{name}", version="2.1", creds=user).status_code == 202
    r = nova(c, "POST", "/os-keypairs", version="2.1", creds=user, json={"keypair": {"name": name}})
    assert r.status_code == 200 and "type" not in r.json()["keypair"]
    nova(c, "DELETE", f"/os-keypairs/{name}", creds=user)


def test_admin_user_id_paging_and_quota(sqlite_controller, user):
    c = sqlite_controller
    names = sorted(_name() for _ in range(3))
    for n in names:
        r = nova(c, "POST", "/os-keypairs", version="2.10", json={"keypair": {"name": n, "user_id": user.user_id}})
        assert r.status_code == 201 and r.json()["keypair"]["user_id"] == user.user_id
    mine = [k.name for k in c.conn(user).compute.keypairs()]
    assert mine == names
    # a member may not act for another user
    r = nova(c, "GET", "/os-keypairs", version="2.10", creds=user, params={"user_id": "someone"})
    assert "os_compute_api:os-keypairs:index" in fault(r, 403)
    page = nova(c, "GET", "/os-keypairs", version="2.35", creds=user, params={"limit": 2}).json()
    assert [k["keypair"]["name"] for k in page["keypairs"]] == names[:2]
    assert f"marker={names[1]}" in page["keypairs_links"][0]["href"]
    rest = nova(c, "GET", "/os-keypairs", version="2.35", creds=user, params={"marker": names[1]}).json()
    assert [k["keypair"]["name"] for k in rest["keypairs"]] == names[2:]
    assert fault(nova(c, "GET", "/os-keypairs", version="2.35", creds=user, params={"marker": "zz"}), 400) == \
        "Marker zz could not be found."
    # quota: key_pairs of the project, counted over the user's key pairs
    conn = c.conn()
    conn.set_compute_quotas(user.project_id, key_pairs=3)
    r = nova(c, "POST", "/os-keypairs", creds=user, json={"keypair": {"name": _name()}})
    assert fault(r, 403) == "Quota exceeded, too many key pairs."
    assert len(nova(c, "GET", "/os-keypairs", creds=user).json()["keypairs"]) == 3
    for n in names:
        assert nova(c, "DELETE", f"/os-keypairs/{n}", version="2.10", params={"user_id": user.user_id}).status_code == 204
    conn.set_compute_quotas(user.project_id, key_pairs=100)
