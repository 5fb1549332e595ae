"""A live controller for API tests: ``stratus serve`` in a subprocess on a free
127.0.0.1 port, with its own database (SQLite or PostgreSQL), Fernet keys and settings,
migrated with ``stratus db upgrade`` and seeded with ``stratus bootstrap``.

Fixtures:

- ``controller`` — session-scoped, parametrized over the backends ``sqlite`` and
  ``postgresql`` (tests that use it run once per backend). A :class:`Controller`:
  ``.url``, ``.auth_url``, ``.admin`` (credentials), ``.conn(**creds)`` (an openstacksdk
  Connection), ``.cli(*args, creds=...)`` (runs the ``openstack`` CLI with a clouds.yaml
  in a temp dir; ``-f json`` output is parsed), ``.http`` (an httpx client on ``.url``),
  ``.admin_token()``, ``.new_project_user(role)`` (a unique project + user with a role on
  it, for isolation), ``.restart()``.
- ``sqlite_controller`` — one SQLite controller when the backend does not matter.
- ``controller_factory`` — start extra controllers with settings overrides
  (``controller_factory(token_expiration=2)``); each is stopped at the end of the test.
- ``postgres`` — a PostgreSQL server for the session: $STRATUS_TEST_POSTGRES_URL when
  set, else a throwaway cluster (initdb + pg_ctl as the postgres user, unix socket in a
  temp dir) that is stopped and removed at the end.

Set STRATUS_TEST_BACKENDS=sqlite to skip PostgreSQL.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
ADMIN_PASSWORD = "stratus-admin-" + secrets.token_hex(4)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- PostgreSQL ------------------------------------------------------------------------


@dataclass
class Postgres:
    """A PostgreSQL server; ``new_database()`` makes a database and returns its URL."""

    base_url: str  # postgresql+psycopg://user@/postgres?host=/socket/dir
    datadir: Path | None = None
    made: list[str] = field(default_factory=list)

    def _admin(self):
        import psycopg

        return psycopg.connect(self.base_url.replace("postgresql+psycopg", "postgresql"), autocommit=True)

    def new_database(self) -> str:
        name = "stratus_test_" + secrets.token_hex(4)
        with self._admin() as c:
            c.execute(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        head, _, query = self.base_url.partition("?")
        return head.rsplit("/", 1)[0] + "/" + name + ("?" + query if query else "")

    def drop_databases(self) -> None:
        with self._admin() as c:
            for name in self.made:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.made.clear()


def _as_postgres(argv: list[str], **kw) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kw)


def start_private_postgres() -> Postgres:
    root = Path(tempfile.mkdtemp(prefix="stratus-pg-"))
    os.chmod(root, 0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, sock = root / "data", root / "sock"
    _as_postgres(["mkdir", "-p", str(sock)])
    _as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"])
    port = free_port()
    _as_postgres(
        [
            str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60",
            "-o", f"-k {sock} -p {port} -c listen_addresses='' -c fsync=off -c max_connections=200",
            "start",
        ]
    )
    return Postgres(f"postgresql+psycopg://postgres@/postgres?host={sock}&port={port}", datadir=data)


def stop_private_postgres(pg: Postgres) -> None:
    if pg.datadir is None:
        return
    try:
        _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(pg.datadir), "-m", "fast", "-w", "stop"])
    finally:
        shutil.rmtree(pg.datadir.parent, ignore_errors=True)


# --- the controller ----------------------------------------------------------------------


@dataclass
class Creds:
    username: str
    password: str
    project_name: str | None = None
    project_id: str | None = None
    user_id: str | None = None
    user_domain_id: str = "default"
    project_domain_id: str = "default"

    def auth(self, auth_url: str) -> dict:
        out = {
            "auth_url": auth_url,
            "username": self.username,
            "password": self.password,
            "user_domain_id": self.user_domain_id,
        }
        if self.project_id:
            out["project_id"] = self.project_id
        elif self.project_name:
            out["project_name"] = self.project_name
            out["project_domain_id"] = self.project_domain_id
        return out


class Controller:
    def __init__(self, workdir: Path, database_url: str, **settings) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.auth_url = f"{self.url}/identity"
        self.database_url = database_url
        self.backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
        self.settings = {
            "database_url": database_url,
            "bind_host": "127.0.0.1",
            "port": self.port,
            "fernet_key_repository": str(workdir / "fernet-keys"),
            "credential_key_repository": str(workdir / "credential-keys"),
            "state_dir": str(workdir / "state"),
            "bcrypt_rounds": 4,
            # the tiny guest ignores ACPI until it has booted: power it off soon
            "shutdown_timeout": 5,
            "log_level": "WARNING",
            **settings,
        }
        self.config_file = workdir / "stratus.yaml"
        self.config_file.write_text(yaml.safe_dump(self.settings))
        self.admin = Creds("admin", ADMIN_PASSWORD, project_name="admin")
        self.proc: subprocess.Popen | None = None
        self.http = httpx.Client(base_url=self.url, timeout=30)
        self._token: str | None = None

    # process ---------------------------------------------------------------------
    def stratus(self, *args: str, fresh: bool = True) -> subprocess.CompletedProcess:
        """``stratus ARGS --config <this controller's>``: a new ``python -m stratus.cli.main``
        process, or with ``fresh=False`` a fork of this one with the CLI imported once per
        session (the same ``main(argv)``, without the 2 s of imports of every start-up)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
        argv = [*args, "--config", str(self.config_file)]
        if fresh:
            r = subprocess.run([sys.executable, "-m", "stratus.cli.main", *argv],
                               capture_output=True, text=True, env=env, cwd=REPO)
        else:
            r = _stratus_in_fork(argv, env, self.workdir)
        if r.returncode != 0:
            raise RuntimeError(f"stratus {' '.join(args)} failed rc={r.returncode}:\n{r.stdout}\n{r.stderr}")
        return r

    def setup(self) -> Controller:
        # `serve` below and every other `stratus` call of a test run a fresh process
        self.stratus("db", "upgrade", fresh=False)
        self.stratus("bootstrap", "--admin-password", ADMIN_PASSWORD, fresh=False)
        self.start()
        return self

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
        self.log = open(self.workdir / "serve.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "stratus.cli.main", "serve", "--config", str(self.config_file)],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=REPO,
        )
        deadline = time.monotonic() + 90  # a loaded 2-core CI host starts it slowly
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"stratus serve exited: {(self.workdir / 'serve.log').read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/", timeout=1).status_code == 300:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"stratus serve did not answer on {self.url} within 90s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        self.http.close()

    # clients -----------------------------------------------------------------------
    def token(self, creds: Creds | None = None, scope: dict | None = None) -> str:
        creds = creds or self.admin
        user = {"name": creds.username, "domain": {"id": creds.user_domain_id}, "password": creds.password}
        auth: dict = {"identity": {"methods": ["password"], "password": {"user": user}}}
        if scope is not None:
            auth["scope"] = scope
        elif creds.project_id:
            auth["scope"] = {"project": {"id": creds.project_id}}
        elif creds.project_name:
            auth["scope"] = {"project": {"name": creds.project_name, "domain": {"id": creds.project_domain_id}}}
        r = self.http.post("/identity/v3/auth/tokens", json={"auth": auth})
        assert r.status_code == 201, r.text
        return r.headers["X-Subject-Token"]

    def admin_token(self) -> str:
        if self._token is None:
            self._token = self.token()
        return self._token

    def request(self, method: str, path: str, token: str | None = None, **kw) -> httpx.Response:
        headers = kw.pop("headers", {})
        headers.setdefault("X-Auth-Token", token or self.admin_token())
        return self.http.request(method, path, headers=headers, **kw)

    def conn(self, creds: Creds | None = None, **kw):
        import openstack

        creds = creds or self.admin
        return openstack.connect(
            load_yaml_config=False, load_envvars=False, region_name="RegionOne",
            identity_api_version="3", **creds.auth(self.auth_url), **kw,
        )

    def cli(self, *args: str, creds: Creds | None = None, check: bool = True):
        """Run ``openstack ARGS`` (python-openstackclient's shell, in this process to
        spare its 1.5 s start-up; ``in_process=False`` semantics: see ``cli_subprocess``)
        against this controller as ``creds`` (admin by default), configured by a
        clouds.yaml in a temp dir. Returns parsed JSON when the output is JSON, else the
        text; with ``check=False`` a CompletedProcess-like result."""
        shell = _preload_openstackclient()  # imported once here, inherited by the fork

        env = self._cli_env(creds)
        outdir = Path(env["OS_CLIENT_CONFIG_FILE"]).parent

        def child() -> int:  # a fresh `openstack` process without the start-up cost
            for k in [k for k in os.environ if k.startswith("OS_")]:
                del os.environ[k]
            os.environ.update(env)
            return shell.OpenStackShell().run(list(args))

        result = _in_fork(["openstack", *args], child, outdir)
        return self._cli_result(result, check)

    def cli_subprocess(self, *args: str, creds: Creds | None = None, check: bool = True):
        """``cli`` through the real ``openstack`` executable."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        cli_env = self._cli_env(creds)
        env.update(cli_env)
        r = subprocess.run([str(VENV_BIN / "openstack"), *args], capture_output=True, text=True, env=env)
        shutil.rmtree(Path(cli_env["OS_CLIENT_CONFIG_FILE"]).parent, ignore_errors=True)
        return self._cli_result(r, check)

    def _cli_env(self, creds: Creds | None) -> dict:
        creds = creds or self.admin
        d = Path(tempfile.mkdtemp(dir=self.workdir, prefix="cli-"))
        cloud = {"auth": creds.auth(self.auth_url), "region_name": "RegionOne", "identity_api_version": 3}
        (d / "clouds.yaml").write_text(yaml.safe_dump({"clouds": {"t": cloud}}))
        return {"OS_CLIENT_CONFIG_FILE": str(d / "clouds.yaml"), "OS_CLOUD": "t"}

    @staticmethod
    def _cli_result(r: subprocess.CompletedProcess, check: bool):
        if not check:
            return r
        if r.returncode != 0:
            raise AssertionError(f"{' '.join(r.args)} failed rc={r.returncode}: {r.stderr}")
        out = r.stdout.strip()
        try:
            return json.loads(out) if out else None
        except ValueError:
            return out

    def new_project_user(self, role: str = "member", prefix: str = "t") -> Creds:
        """A fresh project and user (unique names) with ``role`` on the project."""
        sfx = uuid.uuid4().hex[:8]
        r = self.request("POST", "/identity/v3/projects", json={"project": {"name": f"{prefix}-p-{sfx}"}})
        assert r.status_code == 201, r.text
        project = r.json()["project"]
        pw = "pw-" + secrets.token_hex(6)
        r = self.request("POST", "/identity/v3/users", json={"user": {"name": f"{prefix}-u-{sfx}", "password": pw}})
        assert r.status_code == 201, r.text
        user = r.json()["user"]
        roles = self.request("GET", "/identity/v3/roles", params={"name": role}).json()["roles"]
        r = self.request("PUT", f"/identity/v3/projects/{project['id']}/users/{user['id']}/roles/{roles[0]['id']}")
        assert r.status_code == 204, r.text
        return Creds(user["name"], pw, project_name=project["name"], project_id=project["id"], user_id=user["id"])


def _in_fork(args: list[str], call, outdir: Path) -> subprocess.CompletedProcess:
    """``call()`` in a forked child of this process, its stdout and stderr captured in
    ``outdir`` (removed after): what a fresh process running ``args`` would print and
    return, without the start-up cost of importing what this process already has."""
    pid = os.fork()
    if pid == 0:
        rc = 1
        try:
            for fd, name in ((1, "out"), (2, "err")):
                f = os.open(outdir / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(f, fd)
            sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
            try:
                rc = call()
            except SystemExit as e:
                rc = e.code if isinstance(e.code, int) else 1
            except BaseException:  # noqa: BLE001 - a failing command, as a process would report it
                import traceback

                traceback.print_exc()
                rc = 1
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(rc)
    _, status = os.waitpid(pid, 0)
    read = lambda n: (outdir / n).read_text() if (outdir / n).exists() else ""  # noqa: E731
    result = subprocess.CompletedProcess(args, os.waitstatus_to_exitcode(status), read("out"), read("err"))
    shutil.rmtree(outdir, ignore_errors=True)
    return result


def _stratus_in_fork(argv: list[str], env: dict, workdir: Path) -> subprocess.CompletedProcess:
    """``stratus ARGV`` as ``stratus.cli.main.main(argv)`` in a fork (see ``_in_fork``) with
    ``env`` as its environment; the CLI and what ``db upgrade`` and ``bootstrap`` import
    are loaded once per session, here."""
    from stratus.cli import main as cli_main

    cli_main.build_parser()  # imports every subcommand's module
    import alembic.operations  # noqa: F401
    import alembic.runtime.environment  # noqa: F401
    import alembic.runtime.migration  # noqa: F401

    import stratus.compute.flavors  # noqa: F401
    import stratus.db.migrations  # noqa: F401
    import stratus.db.models  # noqa: F401
    import stratus.identity.bootstrap  # noqa: F401
    import stratus.identity.fernet  # noqa: F401
    import stratus.jobs.runner  # noqa: F401

    def child() -> int:
        os.environ.clear()
        os.environ.update(env)
        os.chdir(REPO)
        return cli_main.main(argv)

    return _in_fork(["stratus", *argv], child, Path(tempfile.mkdtemp(dir=workdir, prefix="stratus-")))


_OSC_SHELL = None


def _preload_openstackclient():
    """Import the CLI and the modules its identity commands load, once per test session."""
    global _OSC_SHELL
    if _OSC_SHELL is None:
        import importlib
        import pkgutil

        import keystoneclient.v3.client  # noqa: F401
        import openstack.connection  # noqa: F401
        import openstackclient.common.clientmanager  # noqa: F401
        import openstackclient.identity.client  # noqa: F401
        import openstackclient.identity.v3 as v3
        from openstackclient import shell

        for m in pkgutil.iter_modules(v3.__path__):
            importlib.import_module(f"openstackclient.identity.v3.{m.name}")
        # warm the entry-point scans (stevedore) with a command that talks to no cloud
        import contextlib
        import io

        quiet = io.StringIO()
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet), contextlib.suppress(SystemExit):
            shell.OpenStackShell().run(["help", "token issue"])
        _OSC_SHELL = shell
    return _OSC_SHELL


def _backends() -> list[str]:
    return os.environ.get("STRATUS_TEST_BACKENDS", "sqlite,postgresql").split(",")


class _Factory:
    def __init__(self, request, tmp_root: Path) -> None:
        self.request = request
        self.tmp_root = tmp_root
        self.started: list[Controller] = []

    def __call__(self, backend: str = "sqlite", **settings) -> Controller:
        workdir = Path(tempfile.mkdtemp(dir=self.tmp_root, prefix=f"ctl-{backend}-"))
        if backend == "postgresql":
            url = self.request.getfixturevalue("postgres").new_database()
        else:
            url = f"sqlite:///{workdir}/stratus.db"
        c = Controller(workdir, url, **settings)
        self.started.append(c)
        return c.setup()

    def close(self) -> None:
        for c in self.started:
            c.close()
        self.started.clear()


@pytest.fixture(scope="session")
def _controllers(request, tmp_path_factory):
    f = _Factory(request, tmp_path_factory.mktemp("controllers"))
    yield f
    f.close()


@pytest.fixture(scope="session", params=_backends())
def controller(request, _controllers) -> Controller:
    """A running controller for the session, once per database backend."""
    return _controllers(request.param)


@pytest.fixture(scope="session")
def sqlite_controller(_controllers) -> Controller:
    return _controllers("sqlite")


@pytest.fixture
def controller_factory(request, tmp_path):
    f = _Factory(request, tmp_path)
    yield f
    f.close()
