"""Run `make aio` / `make aio-clean` and measure them (the aio test and bench/aio.py).

``run_make(target)`` runs the make target in the repository with the progress callback's
JSON summary (STRATUS_AIO_SUMMARY) and samples, every 0.25 s, the summed RSS of make's
process tree (ansible-playbook, its workers and the commands they run) and the host's
used memory (MemTotal - MemAvailable, which also counts the daemons and guests the run
starts). ``stratus_rss()`` sums the RSS of every Stratus process at rest (the processes
tools/aio_host_state.py calls ours).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]
BASELINE = Path("/var/lib/stratus-aio/host-before.json")


def host_state():
    """tools/aio_host_state.py as a module (a standalone script, not a package)."""
    spec = importlib.util.spec_from_file_location("aio_host_state", REPO / "tools/aio_host_state.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _used_bytes() -> int:
    info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    return (int(info["MemTotal"].split()[0]) - int(info["MemAvailable"].split()[0])) * 1024


def _tree_rss(pid: int) -> int:
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


@dataclass
class MakeRun:
    target: str
    rc: int
    seconds: float
    peak_tree_rss: int  # bytes: make and everything under it, at its peak
    peak_host_used_delta: int  # bytes: host memory in use at the peak minus at the start
    output: str
    summary: dict = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return sum(h.get("changed", 0) for h in self.summary.get("hosts", {}).values())

    @property
    def failed(self) -> int:
        return sum(h.get("failures", 0) + h.get("unreachable", 0) for h in self.summary.get("hosts", {}).values())


def run_make(target: str, timeout: float = 1800) -> MakeRun:
    """``make TARGET`` in the repository, measured (see the module's docstring)."""
    with tempfile.TemporaryDirectory(prefix="stratus-aio-") as tmp:
        summary_file = Path(tmp) / "summary.json"
        env = dict(os.environ, STRATUS_AIO_SUMMARY=str(summary_file), NO_COLOR="1", ANSIBLE_NOCOLOR="1")
        start_used = _used_bytes()
        peaks = {"tree": 0, "used": start_used}
        start = time.monotonic()
        proc = subprocess.Popen(["make", target], cwd=REPO, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peaks["tree"] = max(peaks["tree"], _tree_rss(proc.pid))
                peaks["used"] = max(peaks["used"], _used_bytes())
                done.wait(0.25)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            output, _ = proc.communicate(timeout=timeout)
        finally:
            done.set()
            sampler.join()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        seconds = time.monotonic() - start
        summary = json.loads(summary_file.read_text()) if summary_file.exists() else {}
    return MakeRun(target, proc.returncode, seconds, peaks["tree"], peaks["used"] - start_used, output, summary)


def stratus_processes() -> dict[int, tuple[str, int]]:
    """{pid: (argv, rss bytes)} of every Stratus process of this host now
    (tools/aio_host_state.py's rule; other PID namespaces are other hosts)."""
    state = host_state()
    found = {}
    for proc in psutil.process_iter(["pid", "cmdline", "memory_info"]):
        argv = proc.info["cmdline"] or []
        if (proc.info["memory_info"] and state._is_ours(argv) and "aio_host_state.py" not in " ".join(argv)
                and state._of_this_host(Path(f"/proc/{proc.info['pid']}"))):
            found[proc.info["pid"]] = (" ".join(argv), proc.info["memory_info"].rss)
    return found


def stratus_rss() -> int:
    """The summed RSS of every Stratus process (bytes)."""
    return sum(rss for _, rss in stratus_processes().values())
