"""Credentials (/v3/credentials) encrypted at rest with the credential key repository,
its rotation, EC2 credentials and POST /v3/ec2tokens with signatures made by the
client-side signer Heat and EC2 clients use (keystoneclient's Ec2Signer), through the
`openstack` CLI; isolation between users, and refusals that change nothing."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from keystoneclient.contrib.ec2.utils import Ec2Signer
from sqlalchemy import create_engine, text

from stratus.config import load_settings
from stratus.identity import credential_crypto


@pytest.fixture(scope="module")
def ctl(sqlite_controller):
    return sqlite_controller


@pytest.fixture(scope="module")
def alice(ctl):
    return ctl.new_project_user(prefix="cred")


@pytest.fixture(scope="module")
def bob(ctl):
    return ctl.new_project_user(prefix="cred")


def rows(ctl, where: str = "", **params) -> list[dict]:
    engine = create_engine(ctl.database_url)
    try:
        with engine.connect() as c:
            q = "SELECT id, user_id, project_id, type, blob, key_hash FROM identity_credentials"
            return [dict(r._mapping) for r in c.execute(text(q + (" WHERE " + where if where else "")), params)]
    finally:
        engine.dispose()


def settings_of(ctl):
    return load_settings(None, credential_key_repository=ctl.settings["credential_key_repository"])


def err(r) -> str:
    return r.json()["error"]["message"]


def test_bootstrap_made_the_key_repository_and_setup_keeps_it(ctl):
    repo = ctl.workdir / "credential-keys"
    assert sorted(p.name for p in repo.iterdir()) == ["0", "1"]
    assert "exists: " in ctl.stratus("credential", "setup").stdout
    assert sorted(p.name for p in repo.iterdir()) == ["0", "1"]


def test_credential_crud_encrypted_at_rest(ctl, alice):
    secret = "totp-seed-" + hashlib.sha256(alice.user_id.encode()).hexdigest()[:16]
    made = ctl.cli("credential", "create", "--type", "totp", alice.user_id, secret, "-f", "json",
                   creds=alice)
    assert made["blob"] == secret and made["type"] == "totp" and made["user_id"] == alice.user_id
    listed = ctl.cli("credential", "list", "-f", "json", creds=alice)
    assert [c["ID"] for c in listed] == [made["id"]]
    assert ctl.cli("credential", "show", made["id"], "-f", "json", creds=alice)["blob"] == secret

    # at rest: no plaintext, and the key it names decrypts it
    (row,) = rows(ctl, "id = :i", i=made["id"])
    assert secret not in row["blob"] and secret.encode().hex() not in row["blob"]
    settings = settings_of(ctl)
    assert credential_crypto.decrypt(settings, row["blob"]) == secret
    assert row["key_hash"] == credential_crypto.primary_key_hash(settings)

    ctl.cli("credential", "set", "--user", alice.user_id, "--type", "totp", "--data", secret + "x",
            made["id"], creds=alice)
    assert ctl.cli("credential", "show", made["id"], "-f", "json", creds=alice)["blob"] == secret + "x"
    ctl.cli("credential", "delete", made["id"], creds=alice)
    assert rows(ctl, "id = :i", i=made["id"]) == []


def test_a_member_never_sees_or_touches_another_users_credentials(ctl, alice, bob):
    a = ctl.cli("credential", "create", alice.user_id, "alice-blob", "-f", "json", creds=alice)
    b = ctl.cli("credential", "create", bob.user_id, "bob-blob", "-f", "json", creds=bob)
    assert [c["ID"] for c in ctl.cli("credential", "list", "-f", "json", creds=bob)] == [b["id"]]
    # filtering by alice's id does not reveal hers
    r = ctl.request("GET", "/identity/v3/credentials", ctl.token(bob), params={"user_id": alice.user_id})
    assert r.status_code == 200 and r.json()["credentials"] == []
    before = rows(ctl)
    tok = ctl.token(bob)
    for method, body in (("GET", None), ("DELETE", None),
                         ("PATCH", {"credential": {"blob": "stolen"}})):
        r = ctl.request(method, f"/identity/v3/credentials/{a['id']}", tok, json=body)
        assert r.status_code == 403, r.text
        assert "identity:" in err(r)
    # nor makes one in alice's name, nor hands his own to her
    r = ctl.request("POST", "/identity/v3/credentials", tok,
                    json={"credential": {"user_id": alice.user_id, "type": "cert", "blob": "x"}})
    assert r.status_code == 403 and "identity:create_credential" in err(r)
    r = ctl.request("PATCH", f"/identity/v3/credentials/{b['id']}", tok,
                    json={"credential": {"user_id": alice.user_id}})
    assert r.status_code == 403
    # a missing credential answers a member 403 and the admin 404, as Keystone
    assert ctl.request("GET", "/identity/v3/credentials/nope", tok).status_code == 403
    assert ctl.request("GET", "/identity/v3/credentials/nope").status_code == 404
    assert rows(ctl) == before
    # the EC2 API too
    r = ctl.request("GET", f"/identity/v3/users/{alice.user_id}/credentials/OS-EC2", tok)
    assert r.status_code == 403
    # the admin sees both
    ids = {c["ID"] for c in ctl.cli("credential", "list", "-f", "json")}
    assert {a["id"], b["id"]} <= ids


def test_refusals_change_nothing(ctl, alice):
    tok = ctl.token(alice)
    before = rows(ctl)
    cases = [
        ({"user_id": alice.user_id, "type": "ec2", "blob": json.dumps({"access": "a", "secret": "s"})},
         "project_id"),
        ({"user_id": alice.user_id, "type": "ec2", "project_id": alice.project_id, "blob": "not json"},
         "blob"),
        ({"user_id": alice.user_id, "type": "ec2", "project_id": alice.project_id,
          "blob": json.dumps({"secret": "s"})}, "access"),
        ({"user_id": alice.user_id, "type": "cert"}, "blob"),
        ({"user_id": alice.user_id, "blob": "x"}, "type"),
        ({"user_id": alice.user_id, "type": "cert", "blob": "x", "project_id": "missing"},
         "project_id"),
    ]
    for body, field in cases:
        r = ctl.request("POST", "/identity/v3/credentials", tok, json={"credential": body})
        assert r.status_code == 400, (body, r.text)
        assert field in err(r), (field, err(r))
    # duplicate EC2 access key: 409
    blob = json.dumps({"access": "dup-" + alice.user_id, "secret": "s"})
    body = {"user_id": alice.user_id, "type": "ec2", "project_id": alice.project_id, "blob": blob}
    made = ctl.request("POST", "/identity/v3/credentials", tok, json={"credential": body})
    assert made.status_code == 201
    assert made.json()["credential"]["id"] == hashlib.sha256(b"dup-" + alice.user_id.encode()).hexdigest()
    r = ctl.request("POST", "/identity/v3/credentials", tok, json={"credential": body})
    assert r.status_code == 409 and "Duplicate" in err(r)
    ctl.request("DELETE", f"/identity/v3/credentials/{made.json()['credential']['id']}", tok)
    assert rows(ctl) == before


def test_rotation_reencrypts_and_prunes_keys_without_losing_a_credential(ctl, alice):
    made = ctl.cli("credential", "create", alice.user_id, "survives-rotation", "-f", "json", creds=alice)
    repo = ctl.workdir / "credential-keys"
    for _ in range(2):  # {0,1} -> {0,1,2} -> {0,2,3}: the first primary is pruned
        out = ctl.stratus("credential", "rotate").stdout
        assert "re-encrypted" in out
    assert sorted(p.name for p in repo.iterdir()) == ["0", "2", "3"]
    (row,) = rows(ctl, "id = :i", i=made["id"])
    assert row["key_hash"] == credential_crypto.primary_key_hash(settings_of(ctl))
    # the running controller reads it with the new keys
    assert ctl.cli("credential", "show", made["id"], "-f", "json", creds=alice)["blob"] == "survives-rotation"
    ctl.cli("credential", "delete", made["id"], creds=alice)


# --- EC2 -------------------------------------------------------------------------------


def _v2_request(ctl, access: str, secret: str, **extra) -> dict:
    """What an EC2 client (Heat's signal URL) sends: a signature v2 over the query."""
    params = {"AWSAccessKeyId": access, "SignatureMethod": "HmacSHA256", "SignatureVersion": "2",
              "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), **extra}
    req = {"access": access, "host": f"127.0.0.1:{ctl.port}", "verb": "GET",
           "path": "/orchestration/v1/signal", "params": params}
    req["signature"] = Ec2Signer(secret).generate({**req, "params": dict(params)})
    return req


def _v4_request(ctl, access: str, secret: str, when: datetime | None = None) -> dict:
    when = when or datetime.now(UTC)
    amz = when.strftime("%Y%m%dT%H%M%SZ")
    body_hash = hashlib.sha256(b"Action=DescribeInstances").hexdigest()
    headers = {"Host": f"127.0.0.1:{ctl.port}", "X-Amz-Date": amz,
               "Authorization": f"AWS4-HMAC-SHA256 Credential={access}/{amz[:8]}/RegionOne/ec2/aws4_request, "
                                "SignedHeaders=host;x-amz-date, Signature=PLACEHOLDER"}
    req = {"access": access, "host": headers["Host"], "verb": "POST", "path": "/",
           "params": {}, "headers": headers, "body_hash": body_hash}
    req["signature"] = Ec2Signer(secret).generate(json.loads(json.dumps(req)))
    return req


def ec2tokens(ctl, req: dict):
    return ctl.http.post("/identity/v3/ec2tokens", json={"credentials": req})


def test_ec2_credentials_and_ec2tokens_with_v2_and_v4_signatures(ctl, alice, bob):
    made = ctl.cli("ec2", "credentials", "create", "-f", "json", creds=alice)
    access, secret = made["access"], made["secret"]
    assert made["project_id"] == alice.project_id and made["user_id"] == alice.user_id
    listed = ctl.cli("ec2", "credentials", "list", "-f", "json", creds=alice)
    assert [c["Access"] for c in listed] == [access]
    assert ctl.cli("ec2", "credentials", "show", access, "-f", "json", creds=alice)["secret"] == secret
    assert ctl.cli("ec2", "credentials", "list", "-f", "json", creds=bob) == []
    (row,) = rows(ctl, "id = :i", i=hashlib.sha256(access.encode()).hexdigest())
    assert row["type"] == "ec2" and secret not in row["blob"] and access not in row["blob"]

    for req in (_v2_request(ctl, access, secret), _v4_request(ctl, access, secret)):
        r = ec2tokens(ctl, req)
        assert r.status_code == 200, r.text
        token = r.json()["token"]
        assert token["project"]["id"] == alice.project_id and token["user"]["id"] == alice.user_id
        assert token["methods"] == ["ec2credential"]
        # the token works on the API
        me = ctl.request("GET", f"/identity/v3/users/{alice.user_id}", r.headers["X-Subject-Token"])
        assert me.status_code == 200
    # a port-less host, as some clients sign it
    req = _v2_request(ctl, access, secret)
    req["host"] = "127.0.0.1"
    req["signature"] = Ec2Signer(secret).generate({**req, "params": dict(req["params"])})
    req["host"] = f"127.0.0.1:{ctl.port}"
    assert ec2tokens(ctl, req).status_code == 200

    # refusals: wrong secret, tampered request, stale request, unknown key, no signature
    bad = [
        (_v2_request(ctl, access, "wrong-secret"), "Invalid EC2 signature"),
        ({**_v2_request(ctl, access, secret), "path": "/other"}, "Invalid EC2 signature"),
        (_v2_request(ctl, access, secret, Timestamp="2020-01-01T00:00:00Z"), "expired"),
        (_v4_request(ctl, access, secret, datetime.now(UTC) - timedelta(hours=1)), "expired"),
        (_v2_request(ctl, "unknown-access", secret), "EC2 access key not found"),
        (_v2_request(ctl, access, secret, SignatureVersion="1"), "insecure"),
        ({**_v2_request(ctl, access, secret), "signature": ""}, "EC2 signature not supplied"),
    ]
    for req, message in bad:
        r = ec2tokens(ctl, req)
        assert r.status_code == 401, (message, r.text)
        assert message in err(r), (message, err(r))
    r = ctl.http.post("/identity/v3/ec2tokens", json={"nothing": {}})
    assert r.status_code == 400 and "credentials" in err(r)

    # bob cannot delete alice's key; alice's delete makes it useless at once
    r = ctl.request("DELETE", f"/identity/v3/users/{alice.user_id}/credentials/OS-EC2/{access}", ctl.token(bob))
    assert r.status_code == 403
    ctl.cli("ec2", "credentials", "delete", access, creds=alice)
    r = ec2tokens(ctl, _v2_request(ctl, access, secret))
    assert r.status_code == 401 and "not found" in err(r)


def test_ec2_credential_for_a_project_without_a_role_is_refused(ctl, alice, bob):
    before = rows(ctl)
    r = ctl.request("POST", f"/identity/v3/users/{alice.user_id}/credentials/OS-EC2", ctl.token(alice),
                    json={"tenant_id": bob.project_id})
    assert r.status_code == 403 and "no role on project" in err(r)
    r = ctl.request("POST", f"/identity/v3/users/{alice.user_id}/credentials/OS-EC2", ctl.token(alice),
                    json={})
    assert r.status_code == 400 and "tenant_id" in err(r)
    assert rows(ctl) == before


def test_deleting_a_user_deletes_their_credentials(ctl):
    carol = ctl.new_project_user(prefix="cred")
    ctl.cli("ec2", "credentials", "create", "-f", "json", creds=carol)
    assert rows(ctl, "user_id = :u", u=carol.user_id)
    ctl.cli("user", "delete", carol.user_id)
    assert rows(ctl, "user_id = :u", u=carol.user_id) == []
