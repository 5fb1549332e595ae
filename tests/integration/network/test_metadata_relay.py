"""The metadata relay for real: a namespace stands in for a network's qdhcp- namespace;
a request from inside it to 169.254.169.254 reaches an HTTP server in this host's
namespace with the relay's headers (and none the client forged); a second start with
the same config changes nothing; the relay stops on request, and by itself once its
namespace is deleted."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import threading
import time
import uuid

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.common.command import subprocess_run
from ansible_collections.stratus.cloud.plugins.module_utils.net.metadata_relay import MetadataRelay
from tests.helpers.procs import alive

pytestmark = [pytest.mark.orchestration, pytest.mark.network]


class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the stdlib's name
        body = json.dumps({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def echo():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def network(tmp_path):
    net_id = str(uuid.uuid4())
    subprocess.run(["ip", "netns", "add", f"qdhcp-{net_id}"], check=True)
    relay = MetadataRelay(subprocess_run, net_id, str(tmp_path / "relay"))
    yield net_id, relay
    relay.ensure_absent()
    subprocess.run(["ip", "netns", "del", f"qdhcp-{net_id}"], check=False)


def fetch(net_id: str, path: str, *headers: str) -> dict:
    argv = ["ip", "netns", "exec", f"qdhcp-{net_id}", "curl", "-sS", "--max-time", "10"]
    for h in headers:
        argv += ["-H", h]
    out = subprocess.run([*argv, f"http://169.254.169.254{path}"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_the_relay_forwards_with_its_headers_and_stops(network, echo):
    net_id, relay = network
    changed, _ = relay.ensure_present(echo, "the-ticket")
    assert changed and relay.pid() is not None
    assert relay.ensure_present(echo, "the-ticket") == (False, relay.current())
    got = fetch(net_id, "/openstack/latest/deployments", "X-Forwarded-For: 10.9.9.9",
                "X-Stratus-Relay-Ticket: forged")
    assert got["path"] == "/openstack/latest/deployments"
    assert got["headers"]["x-forwarded-for"] == "169.254.169.254"  # the address it came from
    assert got["headers"]["x-stratus-network-id"] == net_id
    assert got["headers"]["x-stratus-relay-ticket"] == "the-ticket"
    # a new ticket restarts it
    assert relay.ensure_present(echo, "another")[0]
    assert fetch(net_id, "/")["headers"]["x-stratus-relay-ticket"] == "another"
    assert relay.ensure_absent() and relay.pid() is None and not os.path.exists(relay.dir)
    assert relay.ensure_absent() is False


def test_the_relay_exits_when_its_namespace_is_deleted(network, echo):
    net_id, relay = network
    relay.ensure_present(echo, "t")
    pid = relay.pid()
    subprocess.run(["ip", "netns", "del", f"qdhcp-{net_id}"], check=True)
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(pid)

