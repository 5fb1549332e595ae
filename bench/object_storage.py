"""Object storage throughput: what Stratus identity costs Swift's proxy.

    .venv/bin/python bench/object_storage.py [--small N] [--large N] [--clients C]

Starts a controller (SQLite, as the API tests do) with an object store, and a Swift
cluster brought up on this machine by the object_storage role exactly as the tests'
``swift_cloud`` has it (tests/helpers/swift_cluster.py: three directory devices, three
replicas, the proxy's pipeline with authtoken + keystoneauth against the controller,
memcached). Then a second proxy: a copy of the role's proxy-server.conf whose pipeline
has Swift's tempauth in place of authtoken + keystoneauth, on another port, in front
of the same rings and the same account, container and object servers
(``swift-proxy-server`` of the venv, started and stopped here).

Through each proxy, C client processes (persistent HTTP/1.1 connections) PUT N objects
of 1 KiB and N/large of 1 MiB into a fresh container of their account and GET them back;
printed per size, operation and proxy: requests, ops/s, MB/s, p50 and p99 latency, and
the keystone/tempauth ratio of ops/s. One Stratus token serves every request of a run,
as a client's session does: authtoken validates it with the controller once and then
finds it in memcached (token_cache_time), so the ratio is the steady-state cost of the
keystone path (memcache lookup + keystoneauth) against tempauth's (memcache lookup).
The first request of a new token, which asks the controller, is measured apart
(``cold token``: new token each request, validated over HTTP, not cached).
"""

from __future__ import annotations

import argparse
import configparser
import http.client
import multiprocessing as mp
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

KIB, MIB = 1 << 10, 1 << 20
TEMPAUTH_USER = ("bench", "tester")


class Finalizers:
    """What ``start_swift_cluster`` needs of pytest's ``request``: ``addfinalizer``."""

    def __init__(self) -> None:
        self.calls: list = []

    def addfinalizer(self, fn) -> None:
        self.calls.append(fn)

    def run(self) -> None:
        while self.calls:
            try:
                self.calls.pop()()
            except Exception as e:  # noqa: BLE001 - clean up the rest, then report
                print(f"cleanup failed: {e}", file=sys.stderr)


# --- the tempauth proxy -------------------------------------------------------------------


def tempauth_conf(keystone_conf: Path, out: Path, port: int, key: str) -> Path:
    """A copy of the role's proxy-server.conf with tempauth in place of authtoken +
    keystoneauth, listening on ``port``; everything else (swift_dir, so the rings;
    memcached; the other middlewares) as the role wrote it."""
    cp = configparser.RawConfigParser()
    cp.optionxform = str  # keep the keys' case
    cp.read(keystone_conf)
    pipeline = cp["pipeline:main"]["pipeline"].split()
    at = pipeline.index("authtoken")
    pipeline[at:at + 2] = ["tempauth"]
    assert "keystoneauth" not in pipeline, pipeline
    cp["pipeline:main"]["pipeline"] = " ".join(pipeline)
    for section in ("filter:authtoken", "filter:keystoneauth"):
        cp.remove_section(section)
    cp["filter:tempauth"] = {"use": "egg:swift#tempauth",
                             f"user_{TEMPAUTH_USER[0]}_{TEMPAUTH_USER[1]}": f"{key} .admin"}
    cp["DEFAULT"]["bind_port"] = str(port)
    cp["DEFAULT"]["bind_ip"] = "127.0.0.1"
    cp["DEFAULT"]["log_name"] = "proxy-tempauth"
    with open(out, "w") as f:
        cp.write(f)
    return out


class TempauthProxy:
    def __init__(self, venv_bin: Path, conf: Path, port: int, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        env = dict(os.environ)
        self.proc = subprocess.Popen([str(venv_bin / "swift-proxy-server"), str(conf)],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the tempauth proxy ({conf}) exited rc={self.proc.returncode}: see {log}")
            if _status(self.url + "/healthcheck") == 200:
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the tempauth proxy ({conf}) did not answer /healthcheck in 60 s: see {log}")

    def login(self, key: str) -> tuple[str, str]:
        """(storage URL, token) from tempauth's /auth/v1.0."""
        u = urllib.parse.urlsplit(self.url)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        c.request("GET", "/auth/v1.0", headers={"X-Auth-User": ":".join(TEMPAUTH_USER), "X-Auth-Key": key})
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError(f"tempauth login: {r.status} {r.reason}")
        return r.getheader("X-Storage-Url"), r.getheader("X-Auth-Token")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def _status(url: str) -> int | None:
    u = urllib.parse.urlsplit(url)
    try:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=2)
        c.request("GET", u.path)
        r = c.getresponse()
        r.read()
        return r.status
    except OSError:
        return None


# --- the load -----------------------------------------------------------------------------


def _worker(args) -> list[float]:
    """One client: ``n`` requests of ``method`` on its own objects, one connection."""
    storage_url, token, container, method, size, first, n, fresh_tokens = args
    u = urllib.parse.urlsplit(storage_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    body = secrets.token_bytes(size) if method == "PUT" else None
    lat = []
    for i in range(first, first + n):
        headers = {"X-Auth-Token": fresh_tokens[i - first] if fresh_tokens else token}
        path = f"{u.path}/{container}/o{i}"
        t = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        lat.append(time.perf_counter() - t)
        want = 201 if method == "PUT" else 200
        if r.status != want or (method == "GET" and len(data) != size):
            raise RuntimeError(f"{method} {path}: {r.status} {r.reason} {data[:200]!r}")
    conn.close()
    return lat


def measure(storage_url: str, token: str, container: str, method: str, size: int, count: int,
            clients: int, first: int = 0, fresh_tokens: list[str] | None = None) -> tuple[list[float], float]:
    """``count`` requests split over ``clients`` processes, on objects ``o<first>``...;
    returns every request's latency and the wall time of the whole."""
    per = max(1, count // clients)
    jobs = [(storage_url, token, container, method, size, first + c * per, per,
             fresh_tokens[c * per:(c + 1) * per] if fresh_tokens else None) for c in range(clients)]
    with mp.get_context("fork").Pool(clients) as pool:
        t = time.perf_counter()
        parts = pool.map(_worker, jobs)
        wall = time.perf_counter() - t
    return [x for p in parts for x in p], wall


def summary(runs: list[tuple[list[float], float]], size: int) -> dict:
    """Requests, ops/s and MB/s over the runs' summed wall time; p50/p99 of every latency."""
    lat = sorted(x for r in runs for x in r[0])
    wall = sum(r[1] for r in runs)
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
    n = len(lat)
    return {"n": n, "ops": n / wall, "mbs": n * size / wall / 1e6, "p50": q[49] * 1000, "p99": q[98] * 1000}


def put_container(storage_url: str, token: str, container: str) -> None:
    u = urllib.parse.urlsplit(storage_url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request("PUT", f"{u.path}/{container}", headers={"X-Auth-Token": token})
    r = c.getresponse()
    r.read()
    if r.status not in (201, 202):
        raise RuntimeError(f"PUT container {container} at {storage_url}: {r.status} {r.reason}")


# --- main ---------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=400, help="1 KiB objects per operation and proxy")
    ap.add_argument("--large", type=int, default=40, help="1 MiB objects per operation and proxy")
    ap.add_argument("--clients", type=int, default=4, help="concurrent client processes")
    ap.add_argument("--rounds", type=int, default=2, help="runs per size, operation and proxy")
    ap.add_argument("--cold", type=int, default=40, help="1 KiB GETs with a new token each")
    args = ap.parse_args()

    from tests.api.conftest import Controller, free_port
    from tests.helpers.swift_cluster import start_swift_cluster

    tmp = Path(tempfile.mkdtemp(prefix="stratus-bench-swift-"))
    fin = Finalizers()
    ctl = proxy = None
    try:
        (tmp / "ctl").mkdir()
        ctl = Controller(tmp / "ctl", f"sqlite:///{tmp}/ctl/stratus.db",
                         object_store_url=f"http://127.0.0.1:{free_port()}",
                         object_store_password="swift-" + secrets.token_hex(8))
        ctl.setup()
        t0 = time.monotonic()
        cluster = start_swift_cluster(fin, tmp / "swift", ctl)
        workers = cluster.extra_vars.get("object_storage_workers")
        print(f"cluster up in {time.monotonic() - t0:.1f}s: {len(cluster.devices)} devices, 3 replicas, "
              f"proxy workers={workers}; {os.cpu_count()} cores, {args.clients} clients, {args.rounds} rounds")
        key = secrets.token_hex(8)
        port = free_port()
        conf = tempauth_conf(Path(cluster.config_dir) / "proxy-server.conf", tmp / "proxy-tempauth.conf", port, key)
        proxy = TempauthProxy(Path(cluster.venv_bin), conf, port, tmp / "proxy-tempauth.log")

        member = ctl.new_project_user("member", prefix="bench")
        targets = {"keystone": (f"{cluster.proxy_url}/v1/AUTH_{member.project_id}", ctl.token(member)),
                   "tempauth": proxy.login(key)}
        print(f"{'size':<6} {'op':<4} {'proxy':<9} {'requests':>8} {'ops/s':>8} {'MB/s':>8}"
              f" {'p50 ms':>8} {'p99 ms':>8}")
        results = {}
        for label, size, count in (("1KiB", KIB, args.small), ("1MiB", MIB, args.large)):
            container = f"bench-{label}"
            for url, token in targets.values():
                put_container(url, token, container)
            for method in ("PUT", "GET"):
                runs: dict[str, list] = {name: [] for name in targets}
                # rounds alternate which proxy goes first, so neither gets the quieter moment
                for r in range(args.rounds):
                    order = list(targets) if r % 2 == 0 else list(reversed(targets))
                    for name in order:
                        url, token = targets[name]
                        runs[name].append(measure(url, token, container, method, size, count,
                                                  args.clients, first=r * count))
                for name in targets:
                    x = results[(label, method, name)] = summary(runs[name], size)
                    print(f"{label:<6} {method:<4} {name:<9} {x['n']:>8} {x['ops']:>8.1f} {x['mbs']:>8.2f}"
                          f" {x['p50']:>8.1f} {x['p99']:>8.1f}", flush=True)
        url, token = targets["keystone"]
        fresh = [ctl.token(member) for _ in range(args.cold)]
        cold = summary([measure(url, "", "bench-1KiB", "GET", KIB, args.cold, 1, fresh_tokens=fresh)], KIB)
        warm = summary([measure(url, token, "bench-1KiB", "GET", KIB, args.cold, 1)], KIB)
        print(f"1KiB GET keystone, 1 client: new token each request (validated by the controller) "
              f"p50 {cold['p50']:.1f} ms; one token (from memcached) p50 {warm['p50']:.1f} ms")
        print("keystone/tempauth ops/s:", ", ".join(
            f"{label} {method} {results[(label, method, 'keystone')]['ops'] / results[(label, method, 'tempauth')]['ops']:.2f}"
            for label in ("1KiB", "1MiB") for method in ("PUT", "GET")))
    finally:
        if proxy is not None:
            proxy.stop()
        fin.run()
        if ctl is not None:
            ctl.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
