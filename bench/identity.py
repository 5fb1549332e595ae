"""Identity benchmark: token issue, validate, rescoping (token method to a project scope)
and application-credential auth latency (p50, p99) and throughput with 1 and 8 client
processes against a live ``stratus serve`` (SQLite), and the controller's RSS at rest.

    .venv/bin/python bench/identity.py [--requests N] [--bcrypt-rounds R] [--backend sqlite|postgresql]

Token issue and application-credential auth are dominated by bcrypt (keystone's default
cost 12 is the default here); validate is a Fernet decrypt plus the DB reads that
re-check user, scope and roles, cached per token until an identity table changes.
The real-Keystone column issue 17 asks for is not there yet.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

V3 = "/identity/v3"


def _auth_body(password: str) -> dict:
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}


def _rescope_body(token: str, project_id: str) -> dict:
    return {"auth": {"identity": {"methods": ["token"], "token": {"id": token}},
                     "scope": {"project": {"id": project_id}}}}


def _app_cred_body(ac: dict) -> dict:
    return {"auth": {"identity": {"methods": ["application_credential"],
                                  "application_credential": {"id": ac["id"], "secret": ac["secret"]}}}}


def _worker(args) -> list[float]:
    kind, url, password, token, n, extra = args
    lat = []
    with httpx.Client(base_url=url, timeout=60) as c:
        for _ in range(n):
            t = time.perf_counter()
            if kind in ("issue", "rescope", "app-cred"):
                body = {"issue": lambda: _auth_body(password),
                        "rescope": lambda: _rescope_body(token, extra["project_id"]),
                        "app-cred": lambda: _app_cred_body(extra["app_cred"])}[kind]()
                r = c.post(f"{V3}/auth/tokens?nocatalog", json=body)
                ok = r.status_code == 201
            else:
                r = c.get(f"{V3}/auth/tokens?nocatalog", headers={"X-Auth-Token": token, "X-Subject-Token": token})
                ok = r.status_code == 200
            lat.append(time.perf_counter() - t)
            if not ok:
                raise RuntimeError(f"{kind}: {r.status_code} {r.text[:200]}")
    return lat


def run(kind: str, procs: int, per_proc: int, url: str, password: str, token: str,
        extra: dict, server) -> dict:
    with mp.get_context("fork").Pool(procs) as pool:
        cpu0 = sum(server.cpu_times()[:2])
        t = time.perf_counter()
        parts = pool.map(_worker, [(kind, url, password, token, per_proc, extra)] * procs)
        wall = time.perf_counter() - t
        cpu = sum(server.cpu_times()[:2]) - cpu0
    lat = sorted(x for p in parts for x in p)
    q = statistics.quantiles(lat, n=100)
    return {"n": len(lat), "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000, "rps": len(lat) / wall,
            "cpu_ms": cpu * 1000 / len(lat)}


def _unscoped(c) -> str:
    body = _auth_body(c.admin.password)
    body["auth"]["scope"] = "unscoped"
    r = c.http.post(f"{V3}/auth/tokens", json=body)
    r.raise_for_status()
    return r.headers["X-Subject-Token"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=400, help="validate requests per run (issue: a quarter)")
    ap.add_argument("--bcrypt-rounds", type=int, default=12)
    ap.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    args = ap.parse_args()

    import psutil

    from tests.api.conftest import Controller, start_private_postgres, stop_private_postgres

    pg = None
    with tempfile.TemporaryDirectory(prefix="stratus-bench-") as tmp:
        if args.backend == "postgresql":
            pg = start_private_postgres()
            url = pg.new_database()
        else:
            url = f"sqlite:///{tmp}/stratus.db"
        c = Controller(Path(tmp), url, bcrypt_rounds=args.bcrypt_rounds)
        try:
            c.setup()
            proc = psutil.Process(c.proc.pid)
            time.sleep(1)
            rss_rest = proc.memory_info().rss / 2**20
            token = c.admin_token()
            print(f"controller: {args.backend}, bcrypt cost {args.bcrypt_rounds}, 2 cores; RSS at rest {rss_rest:.1f} MiB")
            print(f"{'operation':<10} {'clients':>7} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}"
                  f" {'cpu ms/req':>10}")
            unscoped = _unscoped(c)
            me = c.request("GET", f"{V3}/auth/tokens", headers={"X-Subject-Token": token}).json()["token"]
            ac = c.request("POST", f"{V3}/users/{me['user']['id']}/application_credentials",
                           json={"application_credential": {"name": "bench"}}).json()
            extra = {"project_id": me["project"]["id"], "app_cred": ac["application_credential"]}
            results = {}
            slow = max(16, args.requests // 4)
            for kind, total, tok in (("issue", slow, token), ("validate", args.requests, token),
                                     ("rescope", args.requests, unscoped), ("app-cred", slow, token)):
                for procs in (1, 8):
                    r = run(kind, procs, max(1, total // procs), c.url, c.admin.password, tok, extra, proc)
                    results[(kind, procs)] = r
                    print(f"{kind:<10} {procs:>7} {r['n']:>8} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['rps']:>8.1f}"
                          f" {r['cpu_ms']:>10.2f}")
            rss_after = proc.memory_info().rss / 2**20
            for kind in ("issue", "validate", "rescope", "app-cred"):
                ratio = results[(kind, 8)]["rps"] / results[(kind, 1)]["rps"]
                print(f"{kind}: throughput 8 clients / 1 client = {ratio:.2f}x")
            print(f"RSS after load {rss_after:.1f} MiB")
        finally:
            c.close()
            if pg is not None:
                stop_private_postgres(pg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
