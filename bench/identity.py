"""Identity benchmark: token issue, validate, rescoping (token method to a project scope)
and application-credential auth latency (p50, p99) and throughput with 1 and 8 client
processes against a live ``stratus serve`` (SQLite), and the controller's RSS at rest.

    .venv/bin/python bench/identity.py [--requests N] [--bcrypt-rounds R] [--backend sqlite|postgresql]

Token issue and application-credential auth are dominated by bcrypt (keystone's default
cost 12 is the default here); validate is a Fernet decrypt plus the DB reads that
re-check user, scope and roles, cached per token until an identity table changes (a
cached validation is answered on the event loop, without a session or a thread hop).

With a real Keystone in a side venv (``$STRATUS_BENCH_KEYSTONE_VENV``, else
/opt/keystone-venv; see bench/keystone_side.py) the same run measures it too, the same
client against the same operations at the same bcrypt cost, in the ``keystone`` columns;
without one those columns are left out with a line saying why.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
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
    v3 = extra.get("v3", V3)
    lat = []
    with httpx.Client(base_url=url, timeout=60) as c:
        for _ in range(n):
            t = time.perf_counter()
            if kind in ("issue", "rescope", "app-cred"):
                body = {"issue": lambda: _auth_body(password),
                        "rescope": lambda: _rescope_body(token, extra["project_id"]),
                        "app-cred": lambda: _app_cred_body(extra["app_cred"])}[kind]()
                r = c.post(f"{v3}/auth/tokens?nocatalog", json=body)
                ok = r.status_code == 201
            else:
                r = c.get(f"{v3}/auth/tokens?nocatalog", headers={"X-Auth-Token": token, "X-Subject-Token": token})
                ok = r.status_code == 200
            lat.append(time.perf_counter() - t)
            if not ok:
                raise RuntimeError(f"{kind}: {r.status_code} {r.text[:200]}")
    return lat


def _cpu_seconds(server) -> float:
    """User + system CPU of the server process and its children (gunicorn's workers)."""
    procs = [server, *server.children(recursive=True)]
    return sum(sum(p.cpu_times()[:2]) for p in procs)


def _rss_mib(server) -> float:
    return sum(p.memory_info().rss for p in [server, *server.children(recursive=True)]) / 2**20


def run(kind: str, procs: int, per_proc: int, url: str, password: str, token: str,
        extra: dict, server) -> dict:
    with mp.get_context("fork").Pool(procs) as pool:
        cpu0 = _cpu_seconds(server)
        t = time.perf_counter()
        parts = pool.map(_worker, [(kind, url, password, token, per_proc, extra)] * procs)
        wall = time.perf_counter() - t
        cpu = _cpu_seconds(server) - cpu0
    lat = sorted(x for p in parts for x in p)
    q = statistics.quantiles(lat, n=100)
    return {"n": len(lat), "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000, "rps": len(lat) / wall,
            "cpu_ms": cpu * 1000 / len(lat)}


def _unscoped(http: httpx.Client, v3: str, password: str) -> str:
    body = _auth_body(password)
    body["auth"]["scope"] = "unscoped"
    r = http.post(f"{v3}/auth/tokens", json=body)
    r.raise_for_status()
    return r.headers["X-Subject-Token"]


def _target(url: str, v3: str, password: str, server) -> dict:
    """What the operations need from one identity server: a project-scoped and an
    unscoped token of admin, admin's project and an application credential."""
    with httpx.Client(base_url=url, timeout=60) as http:
        r = http.post(f"{v3}/auth/tokens", json=_auth_body(password))
        r.raise_for_status()
        token = r.headers["X-Subject-Token"]
        me = r.json()["token"]
        r = http.post(f"{v3}/users/{me['user']['id']}/application_credentials",
                      headers={"X-Auth-Token": token},
                      json={"application_credential": {"name": "bench"}})
        r.raise_for_status()
        return {"url": url, "password": password, "token": token, "server": server,
                "unscoped": _unscoped(http, v3, password),
                "extra": {"v3": v3, "project_id": me["project"]["id"],
                          "app_cred": r.json()["application_credential"]}}


def _measure(t: dict, kind: str, procs: int, total: int) -> dict:
    tok = t["unscoped"] if kind == "rescope" else t["token"]
    return run(kind, procs, max(1, total // procs), t["url"], t["password"], tok, t["extra"],
               t["server"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=400, help="validate requests per run (issue: a quarter)")
    ap.add_argument("--bcrypt-rounds", type=int, default=12)
    ap.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    args = ap.parse_args()

    import psutil

    from bench.keystone_side import Keystone, find_venv
    from tests.api.conftest import Controller, start_private_postgres, stop_private_postgres

    pg = None
    with tempfile.TemporaryDirectory(prefix="stratus-bench-") as tmp, contextlib.ExitStack() as stack:
        if args.backend == "postgresql":
            pg = start_private_postgres()
            url = pg.new_database()
        else:
            url = f"sqlite:///{tmp}/stratus.db"
        c = Controller(Path(tmp), url, bcrypt_rounds=args.bcrypt_rounds)
        try:
            c.setup()
            proc = psutil.Process(c.proc.pid)
            ks_venv, why_not = find_venv()
            ks = None
            if ks_venv is not None:
                ks = stack.enter_context(Keystone(ks_venv, Path(tmp) / "keystone", args.bcrypt_rounds))
            time.sleep(1)
            rss = {"stratus": _rss_mib(proc)}
            targets = {"stratus": _target(c.url, V3, c.admin.password, proc)}
            if ks is not None:
                ks_proc = psutil.Process(ks.proc.pid)
                rss["keystone"] = _rss_mib(ks_proc)
                targets["keystone"] = _target(ks.url, ks.V3, ks.password, ks_proc)
            print(f"controller: {args.backend}, bcrypt cost {args.bcrypt_rounds}, {os.cpu_count()} cores;"
                  f" RSS at rest {rss['stratus']:.1f} MiB")
            if ks is not None:
                print(f"keystone: {ks_venv}, SQLite, bcrypt cost {args.bcrypt_rounds}, oslo_cache.dict, "
                      f"gunicorn 1 process x 8 threads; RSS at rest {rss['keystone']:.1f} MiB")
            else:
                print(why_not)
            head = (f"{'operation':<10} {'clients':>7} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}"
                    f" {'cpu ms/req':>10}")
            if ks is not None:
                head += f" {'ks p50':>8} {'ks p99':>8} {'ks req/s':>8} {'ks cpu':>8}"
            print(head)
            results = {}
            slow = max(16, args.requests // 4)
            for kind, total in (("issue", slow), ("validate", args.requests),
                                ("rescope", args.requests), ("app-cred", slow)):
                for procs in (1, 8):
                    for name, t in targets.items():
                        results[(name, kind, procs)] = _measure(t, kind, procs, total)
                    r = results[("stratus", kind, procs)]
                    line = (f"{kind:<10} {procs:>7} {r['n']:>8} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f}"
                            f" {r['rps']:>8.1f} {r['cpu_ms']:>10.2f}")
                    if ks is not None:
                        k = results[("keystone", kind, procs)]
                        line += f" {k['p50_ms']:>8.1f} {k['p99_ms']:>8.1f} {k['rps']:>8.1f} {k['cpu_ms']:>8.2f}"
                    print(line)
            for kind in ("issue", "validate", "rescope", "app-cred"):
                ratio = results[("stratus", kind, 8)]["rps"] / results[("stratus", kind, 1)]["rps"]
                line = f"{kind}: throughput 8 clients / 1 client = {ratio:.2f}x"
                if ks is not None:
                    ours = results[("stratus", kind, 1)]["p50_ms"]
                    theirs = results[("keystone", kind, 1)]["p50_ms"]
                    line += f"; p50 stratus/keystone = {ours / theirs:.2f}"
                print(line)
            print(f"RSS after load {_rss_mib(proc):.1f} MiB"
                  + (f" (keystone {_rss_mib(ks_proc):.1f} MiB)" if ks is not None else ""))
        finally:
            stack.close()
            c.close()
            if pg is not None:
                stop_private_postgres(pg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
