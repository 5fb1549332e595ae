"""Importing Swift leaves the standard library's HTTP modules as they were: a threaded
HTTP server started afterwards answers (with eventlet's green copies left in their
packages, its thread never ran and the request hung)."""

from __future__ import annotations

import http.client
import http.server
import subprocess
import sys

from tests.helpers.ansible import REPO

SCRIPT = """
from ansible_collections.stratus.cloud.plugins.module_utils.object_store import ring
import http.client, http.server, threading, urllib.request
assert ring.SWIFT_IMPORT_ERROR is None, ring.SWIFT_IMPORT_ERROR

class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"hello")
    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(urllib.request.urlopen(f"http://127.0.0.1:{server.server_address[1]}/", timeout=10).read().decode())
server.shutdown()
import socket
assert http.client.socket is socket and http.server.socketserver.socket is socket
"""


def test_a_threaded_http_server_still_works_after_importing_swift():
    """In a fresh interpreter, where Swift is the first thing imported."""
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60,
                          cwd=REPO / "collections")
    assert proc.returncode == 0 and proc.stdout.strip() == "hello", proc.stderr


def test_this_process_keeps_them_too():
    from ansible_collections.stratus.cloud.plugins.module_utils.object_store import ring  # noqa: F401

    assert http.server.ThreadingHTTPServer.__module__ == "http.server"
    assert "eventlet" not in repr(http.client.socket)
