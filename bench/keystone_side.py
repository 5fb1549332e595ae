"""A real Keystone beside Stratus for ``bench/identity.py``: found in a side venv
(``$STRATUS_BENCH_KEYSTONE_VENV``, else /opt/keystone-venv), set up in a temporary
directory (SQLite, Fernet tokens, bcrypt at the bench's cost, the in-process
``oslo_cache.dict`` cache on) and served by that venv's gunicorn on 127.0.0.1.

    python3 -m venv /tmp/ks && /tmp/ks/bin/pip install keystone gunicorn
    STRATUS_BENCH_KEYSTONE_VENV=/tmp/ks .venv/bin/python bench/identity.py

Never installed into the controller's own venv.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import httpx

DEFAULT_VENVS = ("/opt/keystone-venv",)
PASSWORD = "bench-admin-password"


def find_venv() -> tuple[Path | None, str]:
    """The side venv holding keystone-manage and gunicorn, or None and why not."""
    given = os.environ.get("STRATUS_BENCH_KEYSTONE_VENV")
    candidates = [given] if given else list(DEFAULT_VENVS)
    for c in candidates:
        bin_ = Path(c) / "bin"
        if (bin_ / "keystone-manage").exists() and (bin_ / "gunicorn").exists():
            return Path(c), ""
    where = given or " or ".join(DEFAULT_VENVS)
    return None, (f"no Keystone column: no venv with keystone-manage and gunicorn at {where} "
                  "(set STRATUS_BENCH_KEYSTONE_VENV to a venv made with "
                  "`pip install keystone gunicorn`)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CONF = """\
[DEFAULT]
log_file = {dir}/keystone.log
[database]
connection = sqlite:///{dir}/keystone.db
[token]
provider = fernet
[fernet_tokens]
key_repository = {dir}/fernet-keys
[fernet_receipts]
key_repository = {dir}/fernet-receipts
[credential]
key_repository = {dir}/credential-keys
[identity]
password_hash_algorithm = bcrypt
password_hash_rounds = {rounds}
[cache]
enabled = true
backend = oslo_cache.dict
"""


class Keystone:
    """``with Keystone(venv, workdir, bcrypt_rounds) as ks:``: ks.url (the /v3 base's
    host), ks.pid (gunicorn's master; its workers are its children)."""

    V3 = "/v3"

    def __init__(self, venv: Path, workdir: Path, bcrypt_rounds: int) -> None:
        self.venv, self.dir, self.rounds = venv, workdir, bcrypt_rounds
        self.password = PASSWORD
        self.proc: subprocess.Popen | None = None
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def _manage(self, *args: str) -> None:
        subprocess.run([str(self.venv / "bin" / "keystone-manage"), "--config-file",
                        str(self.conf), *args], check=True, capture_output=True, text=True)

    def __enter__(self) -> Keystone:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.conf = self.dir / "keystone.conf"
        self.conf.write_text(CONF.format(dir=self.dir, rounds=self.rounds))
        self._manage("db_sync")
        for what in ("fernet_setup", "credential_setup"):
            self._manage(what, "--keystone-user", str(os.getuid()), "--keystone-group", str(os.getgid()))
        self._manage("bootstrap", "--bootstrap-password", self.password,
                     "--bootstrap-admin-url", f"{self.url}/v3", "--bootstrap-public-url",
                     f"{self.url}/v3", "--bootstrap-region-id", "RegionOne")
        # keystone's oslo.config reads sys.argv: the app module hides gunicorn's
        (self.dir / "bench_keystone_app.py").write_text(
            "import sys\nsys.argv = sys.argv[:1]\nfrom keystone.wsgi.api import application  # noqa\n")
        env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=str(self.conf), PYTHONPATH=str(self.dir))
        # one process with a thread pool, as the controller (one uvicorn process)
        self.proc = subprocess.Popen(
            [str(self.venv / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{self.port}",
             "--workers", "1", "--threads", "8", "--worker-class", "gthread",
             "bench_keystone_app:application"],
            env=env, cwd=self.dir, stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "gunicorn.log", "wb"))
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/v3", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(f"keystone did not start: see {self.dir}/gunicorn.log")
            time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
