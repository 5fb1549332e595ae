"""Keystone login for the object modules: the request body, the catalog's object-store
endpoint, and a login against a stand-in Keystone (a local HTTP server)."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.object_store import auth
from ansible_collections.stratus.cloud.plugins.module_utils.object_store.client import (
    AuthFailed,
    InvalidRequest,
)

pytestmark = [pytest.mark.object_storage]

CATALOG = [
    {"type": "identity", "name": "keystone", "endpoints": [
        {"interface": "public", "region_id": "RegionOne", "url": "http://ctl/identity/v3"}]},
    {"type": "object-store", "name": "swift", "endpoints": [
        {"interface": "public", "region_id": "RegionOne", "region": "RegionOne",
         "url": "http://proxy:8080/v1/AUTH_p1"},
        {"interface": "internal", "region_id": "RegionOne", "url": "http://int:8080/v1/AUTH_p1"},
        {"interface": "public", "region_id": "RegionTwo", "url": "http://two:8080/v1/AUTH_p1"},
    ]},
]


def test_identity_v3_takes_the_url_with_or_without_version():
    assert auth.identity_v3("http://ctl/identity") == "http://ctl/identity/v3"
    assert auth.identity_v3("http://ctl/identity/v3/") == "http://ctl/identity/v3"


def test_password_body_scopes_to_the_project():
    body = auth.password_body({"username": "u", "password": "p", "project_name": "demo",
                               "user_domain_name": "Default", "project_domain_name": "D2"})
    assert body["auth"]["identity"]["password"]["user"] == {
        "name": "u", "password": "p", "domain": {"name": "Default"}}
    assert body["auth"]["scope"] == {"project": {"name": "demo", "domain": {"name": "D2"}}}
    by_id = auth.password_body({"username": "u", "password": "p", "project_id": "abc"})
    assert by_id["auth"]["scope"] == {"project": {"id": "abc"}}
    with pytest.raises(InvalidRequest, match="project_name or project_id"):
        auth.password_body({"username": "u", "password": "p"})


def test_endpoint_by_interface_and_region():
    assert auth.object_store_endpoint(CATALOG) == "http://proxy:8080/v1/AUTH_p1"
    assert auth.object_store_endpoint(CATALOG, "internal") == "http://int:8080/v1/AUTH_p1"
    assert auth.object_store_endpoint(CATALOG, "public", "RegionTwo") == "http://two:8080/v1/AUTH_p1"
    with pytest.raises(AuthFailed, match="no endpoint for interface admin.*public@RegionOne"):
        auth.object_store_endpoint(CATALOG, "admin")
    with pytest.raises(AuthFailed, match="no object-store service.*identity"):
        auth.object_store_endpoint(CATALOG[:1])


class Keystone(http.server.BaseHTTPRequestHandler):
    bodies: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Keystone.bodies.append((self.path, body))
        ok = body["auth"]["identity"]["password"]["user"]["password"] == "right"
        out = json.dumps({"token": {"catalog": CATALOG}} if ok else
                         {"error": {"code": 401, "message": "The request you have made requires authentication."}}).encode()
        self.send_response(201 if ok else 401)
        if ok:
            self.send_header("X-Subject-Token", "tok-1")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def keystone():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Keystone)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/identity"
    srv.shutdown()
    srv.server_close()


def test_connect_logs_in_and_picks_the_endpoint(keystone):
    creds = {"auth_url": keystone, "username": "u", "password": "right", "project_name": "demo"}
    client = auth.connect({"auth": creds, "interface": "internal", "timeout": 5})
    assert (client.token, client.storage_url) == ("tok-1", "http://int:8080/v1/AUTH_p1")
    assert Keystone.bodies[-1][0] == "/identity/v3/auth/tokens"
    override = auth.connect({"auth": creds, "storage_url": "http://x/v1/AUTH_q"})
    assert override.storage_url == "http://x/v1/AUTH_q"


def test_connect_names_the_refused_user(keystone):
    creds = {"auth_url": keystone, "username": "u", "password": "wrong", "project_name": "demo"}
    with pytest.raises(AuthFailed, match="refused the login of user u in project demo: 401.*requires authentication"):
        auth.connect({"auth": creds})


def test_token_needs_storage_url():
    with pytest.raises(InvalidRequest, match="storage_url"):
        auth.connect({"token": "t"})
    client = auth.connect({"token": "t", "storage_url": "http://proxy:8080/v1/AUTH_p/"})
    assert client.storage_url == "http://proxy:8080/v1/AUTH_p"
