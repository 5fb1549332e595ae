#!/usr/bin/python3
"""Swift's daemons on a host without systemd, all in one call (the role's tasks would
otherwise pay one Ansible round trip per daemon and action).

    swift_daemons.py ensure SPEC RESTART   start every daemon of SPEC that is not running;
                                           restart the running ones named in RESTART
    swift_daemons.py stop SPEC             stop every daemon of SPEC

SPEC is JSON {"run_dir", "log_dir", "path", "daemons": [{"name", "argv", "listen"?}]};
RESTART a JSON list of names. Each daemon runs under start-stop-daemon with the pid file
<run_dir>/<name>.pid and its output in <log_dir>/<name>.log; a started daemon with
"listen": [address, port] is waited for (60 s) until it accepts connections there.
Prints one JSON object:
{"changed", "started", "restarted", "stopped"}; exits 1 with {"msg"} on a failure.
Standard library only: it runs with the host's /usr/bin/python3.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time

# found before the daemons' own PATH applies (that one is for the daemons)
SSD = shutil.which("start-stop-daemon", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])) \
    or "start-stop-daemon"


def pidfile(spec: dict, name: str) -> str:
    return os.path.join(spec["run_dir"], name + ".pid")


def running(spec: dict, name: str) -> bool:
    rc = subprocess.run([SSD, "--status", "--pidfile", pidfile(spec, name)], check=False).returncode
    if rc not in (0, 1, 3, 4):
        raise RuntimeError(f"{SSD} --status for {name} answered {rc}")
    return rc == 0 and not _zombie(pidfile(spec, name))


def _zombie(path: str) -> bool:
    """An exited daemon not yet reaped (its parent is init, which may reap late)."""
    try:
        with open(path) as f:
            pid = int(f.read().split()[0])
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, ValueError, IndexError):
        return False


def stop(spec: dict, names: list[str]) -> list[str]:
    """Stop ``names`` at once (TERM, then KILL after 15 s); the ones that were running."""
    procs = {n: subprocess.Popen([SSD, "--stop", "--oknodo", "--retry", "TERM/15/KILL/5", "--remove-pidfile",
                                  "--pidfile", pidfile(spec, n)], stdout=subprocess.PIPE, text=True)
             for n in names}
    stopped = []
    for name, proc in procs.items():
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"{SSD} could not stop {name} (rc {proc.returncode}): {out.strip()}")
        if "No process" not in out:
            stopped.append(name)
    return stopped


def start(spec: dict, daemon: dict) -> None:
    name, argv = daemon["name"], daemon["argv"]
    env = dict(os.environ, PATH=spec["path"])
    subprocess.run([SSD, "--start", "--background", "--make-pidfile", "--pidfile", pidfile(spec, name),
                    "--output", os.path.join(spec["log_dir"], name + ".log"), "--startas", argv[0], "--", *argv[1:]],
                   check=True, env=env)


def ensure(spec: dict, restart: list[str]) -> dict:
    names = [d["name"] for d in spec["daemons"]]
    up = {n for n in names if running(spec, n)}
    restarted = stop(spec, [n for n in names if n in up and n in restart])
    started = []
    for daemon in spec["daemons"]:
        if daemon["name"] not in up or daemon["name"] in restarted:
            start(spec, daemon)
            started.append(daemon["name"])
    # a daemon that dies at once (bad config, port taken) fails the run, with its log
    listening = {d["name"]: d["listen"] for d in spec["daemons"] if d["name"] in started and d.get("listen")}
    deadline = time.monotonic() + 60
    while listening and time.monotonic() < deadline:
        for name, (host, port) in list(listening.items()):
            if _accepts(host, int(port)) or not running(spec, name):
                del listening[name]
        time.sleep(0.2)
    time.sleep(0.5 if started else 0)
    dead = [n for n in started if not running(spec, n)]
    if dead:
        logs = {n: _tail(os.path.join(spec["log_dir"], n + ".log")) for n in dead}
        raise RuntimeError(f"these daemons exited right after they started: {', '.join(dead)}; their logs: {logs}")
    if listening:
        raise RuntimeError("these daemons do not listen after 60 s: "
                           + ", ".join(f"{n} on {h}:{p}" for n, (h, p) in listening.items()))
    return {"changed": bool(started), "started": [n for n in started if n not in restarted],
            "restarted": restarted, "stopped": []}


def _accepts(host: str, port: int) -> bool:
    host = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _tail(path: str, lines: int = 15) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def main(argv: list[str]) -> int:
    try:
        action, spec = argv[1], json.loads(argv[2])
        if action == "ensure":
            result = ensure(spec, json.loads(argv[3]))
        elif action == "stop":
            stopped = stop(spec, [d["name"] for d in spec["daemons"]])
            result = {"changed": bool(stopped), "started": [], "restarted": [], "stopped": stopped}
        else:
            raise ValueError(f"unknown action {action!r}: ensure or stop")
    except (OSError, ValueError, IndexError, RuntimeError, subprocess.CalledProcessError) as e:
        print(json.dumps({"failed": True, "msg": f"swift_daemons.py {' '.join(argv[1:2])}: {e}"}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
