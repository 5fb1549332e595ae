"""Settings precedence, fault documents per service, the payload of tokens and the
assignment arithmetic, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stratus.api.errors import fault_body, service_of
from stratus.config import load_settings
from stratus.identity.tokens import TokenData

pytestmark = pytest.mark.identity


def test_settings_file_then_environment_then_overrides(tmp_path, monkeypatch):
    f = tmp_path / "s.yaml"
    f.write_text("port: 9001\ntoken_expiration: 60\ndatabase_url: sqlite:////tmp/x.db\n")
    for k in [k for k in __import__("os").environ if k.startswith("STRATUS_")]:
        monkeypatch.delenv(k)
    s = load_settings(f)
    assert (s.port, s.token_expiration) == (9001, 60)
    monkeypatch.setenv("STRATUS_PORT", "9002")
    assert load_settings(f).port == 9002
    assert load_settings(f, port=9003).port == 9003
    monkeypatch.setenv("STRATUS_CONFIG", str(f))
    assert load_settings().token_expiration == 60
    assert load_settings(f, public_url="https://c.example:8700/").endpoint_url == "https://c.example:8700"
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "missing.yaml")


def test_fault_formats_per_service():
    assert service_of("/identity/v3/projects") == "identity"
    assert service_of("/compute/v2.1/servers") == "compute"
    assert service_of("/network/v2.0/ports") == "network"
    assert fault_body("identity", 404, "m") == {"error": {"code": 404, "title": "Not Found", "message": "m"}}
    assert fault_body("compute", 404, "m") == {"itemNotFound": {"code": 404, "message": "m"}}
    assert fault_body("volume", 400, "m") == {"badRequest": {"code": 400, "message": "m"}}
    assert fault_body("compute", 403, "m") == {"forbidden": {"code": 403, "message": "m"}}
    assert fault_body("network", 404, "m", "NetworkNotFound") == {
        "NeutronError": {"type": "NetworkNotFound", "message": "m", "detail": ""}
    }
    assert fault_body("orchestration", 400, "m")["error"]["message"] == "m"


def test_token_payload_round_trip_keeps_microseconds():
    now = datetime.now(UTC)
    d = TokenData("u" * 32, ["password"], "p", "p" * 32, now, now + timedelta(hours=1), ["a"], None)
    back = TokenData.unpack(d.pack())
    assert back == d
    assert len(d.pack()) < 200


def test_app_faults_carry_request_id_and_service_format(tmp_path):
    from fastapi.testclient import TestClient

    from stratus.api.app import create_app

    s = load_settings(None, database_url=f"sqlite:///{tmp_path}/s.db", fernet_key_repository=str(tmp_path / "k"))
    app = create_app(s)

    @app.get("/compute/v2.1/boom")
    def boom():
        raise RuntimeError("unexpected")

    c = TestClient(app, raise_server_exceptions=False)
    r = c.get("/compute/v2.1/boom")
    assert r.status_code == 500 and r.json()["computeFault"]["code"] == 500
    assert r.headers["X-Openstack-Request-Id"].startswith("req-")
    r = c.get("/identity/v3/projects")  # no token
    assert r.status_code == 401 and r.json()["error"]["title"] == "Unauthorized"
    r = c.get("/identity/v3/projects", headers={"X-Auth-Token": "x"})  # no key repository
    assert r.status_code == 503 and "stratus bootstrap" in r.json()["error"]["message"]
    r = c.get("/")
    assert r.status_code == 300 and r.json()["versions"]["values"][0]["id"].startswith("v3")
