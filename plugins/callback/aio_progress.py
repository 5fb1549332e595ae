# Copyright: Stratus developers
# Apache-2.0
"""stratus.cloud.aio_progress: one line per play, what changed, and the total time."""

from __future__ import annotations

import json
import os
import sys
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
---
name: aio_progress
type: stdout
short_description: One progress line per play and the total time (make aio)
description:
  - Prints one line per play ("step"), its number and name when it starts, how long it
    took and how many tasks changed when it ends; the messages of C(debug) tasks under it; a failed
    task in full (its name, host, message, the end of its stderr and stdout) as soon as it
    fails; and at the end one line per host (ok, changed, failed, ...), the names of the
    tasks that changed, and the total time.
  - C(make aio) uses it (C(ANSIBLE_STDOUT_CALLBACK=stratus.cloud.aio_progress)); set
    C(AIO_CALLBACK=default) for Ansible's usual output.
  - When the environment variable C(STRATUS_AIO_SUMMARY) names a file, the run's summary is
    written there as JSON (C(steps), a list of name, seconds and changed task names;
    C(changed_tasks); C(failed_tasks); C(hosts), each host's stats; C(seconds)). The aio
    test and bench read it.
version_added: "0.1.0"
author: Stratus developers
"""

DEBUG_ACTIONS = ("debug", "ansible.builtin.debug", "ansible.legacy.debug")
TAIL_LINES = 15


def _tail(text: str, lines: int = TAIL_LINES) -> list[str]:
    return text.rstrip().splitlines()[-lines:] if text else []


def failure_lines(result: dict) -> list[str]:
    """What a person needs from a failed task's result: message, stderr and stdout ends."""
    out = []
    items = result.get("results") if isinstance(result.get("results"), list) else [result]
    for item in items:
        if not isinstance(item, dict) or (item is not result and not item.get("failed")):
            continue
        if item is not result and "item" in item:
            out.append(f"  item: {item.get('_ansible_item_label', item['item'])}")
        if item.get("msg"):
            out.append(f"  msg: {item['msg']}")
        if item.get("cmd"):
            cmd = item["cmd"]
            out.append(f"  cmd: {' '.join(map(str, cmd)) if isinstance(cmd, list) else cmd} (rc {item.get('rc')})")
        for stream in ("stderr", "stdout"):
            tail = _tail(str(item.get(stream) or ""))
            if tail:
                out.append(f"  {stream}:")
                out.extend(f"    {line}" for line in tail)
    return out or [f"  {json.dumps(result, default=str)[:2000]}"]


def debug_lines(result: dict) -> list[str]:
    """The message of a debug task, one line each (lists flattened)."""
    msg = result.get("msg")
    if msg is None:
        return []
    if isinstance(msg, list):
        lines = []
        for part in msg:
            lines.extend(part if isinstance(part, list) else [part])
        return [f"    {part}" for part in lines]
    return [f"    {line}" for line in str(msg).splitlines()]


def duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "stratus.cloud.aio_progress"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # What the play starts must not inherit this run's output settings: the controller
        # started by its role runs its jobs through ansible-runner (whose awx_display would
        # load this callback as the "original" one and lose its events), and so does
        # `stratus host refresh`. Both variables are read here, then dropped.
        self._summary_file = os.environ.pop("STRATUS_AIO_SUMMARY", None)
        if os.environ.get("ANSIBLE_STDOUT_CALLBACK") == self.CALLBACK_NAME:
            del os.environ["ANSIBLE_STDOUT_CALLBACK"]
        self._start = time.monotonic()
        self._total = 0
        self._step = 0
        self._play = None
        self._play_start = 0.0
        self._play_changed: list[str] = []
        self._play_messages: list[str] = []
        self._play_failed = False
        self._line_open = False
        self._steps: list[dict] = []
        self._changed: list[str] = []
        self._failed: list[str] = []

    # -- steps -------------------------------------------------------------------------
    def _head(self) -> str:
        width = len(str(self._total or self._step))
        return f"[{self._step:>{width}}/{self._total}] {self._play:<72.72} "

    def _say(self, line: str, stderr: bool = False) -> None:
        """A whole line, after ending the step's open line (its head is written at its start)."""
        if self._line_open:
            sys.stdout.write("\n")
            sys.stdout.flush()
            self._line_open = False
        self._display.display(line, stderr=stderr)

    def _end_step(self) -> None:
        if self._play is None:
            return
        seconds = time.monotonic() - self._play_start
        changed = len(self._play_changed)
        status = "FAILED" if self._play_failed else (f"changed={changed}" if changed else "ok")
        tail = f"{duration(seconds):>7}  {status}"
        if self._line_open:
            sys.stdout.write(tail + "\n")
            sys.stdout.flush()
            self._line_open = False
        else:
            self._display.display(self._head() + tail)
        for message in self._play_messages:
            self._display.display(message)
        self._steps.append({"name": self._play, "seconds": round(seconds, 1), "changed": list(self._play_changed)})
        self._play = None

    def v2_playbook_on_start(self, playbook):
        self._total = len(playbook.get_plays())

    def v2_playbook_on_play_start(self, play):
        self._end_step()
        self._step += 1
        self._play = play.get_name().strip()
        self._play_start = time.monotonic()
        self._play_changed = []
        self._play_messages = []
        self._play_failed = False
        sys.stdout.write(self._head())
        sys.stdout.flush()
        self._line_open = True

    def v2_playbook_on_no_hosts_matched(self):
        self._play_messages.append("    (no hosts in this group)")

    # -- tasks -------------------------------------------------------------------------
    def v2_runner_on_ok(self, result):
        task, host, res = result._task, result._host.get_name(), result._result
        if res.get("changed"):
            name = f"{self._play} / {task.get_name().strip()} [{host}]"
            self._play_changed.append(task.get_name().strip())
            self._changed.append(name)
        if task.action in DEBUG_ACTIONS:
            self._play_messages.extend(debug_lines(res))

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if ignore_errors:
            return
        task, host = result._task, result._host.get_name()
        name = f"{self._play} / {task.get_name().strip()} [{host}]"
        self._failed.append(name)
        self._play_failed = True
        self._say(f"FAILED: {name}", stderr=True)
        for line in failure_lines(result._result):
            self._display.display(line, stderr=True)

    def v2_runner_on_unreachable(self, result):
        name = f"{self._play} / {result._task.get_name().strip()} [{result._host.get_name()}]"
        self._failed.append(name)
        self._play_failed = True
        self._say(f"UNREACHABLE: {name}: {result._result.get('msg', '')}", stderr=True)

    # -- the end -----------------------------------------------------------------------
    def v2_playbook_on_stats(self, stats):
        self._end_step()
        seconds = time.monotonic() - self._start
        hosts = {}
        for host in sorted(stats.processed):
            s = stats.summarize(host)
            hosts[host] = s
            self._display.display(f"{host}: " + " ".join(f"{k}={s[k]}" for k in
                                                         ("ok", "changed", "failures", "unreachable", "skipped")))
        if self._changed:
            self._display.display(f"{len(self._changed)} task(s) changed:")
            for name in self._changed:
                self._display.display(f"  {name}")
        verdict = "FAILED" if self._failed else "done"
        self._display.display(f"{verdict} in {duration(seconds)} ({len(self._steps)} steps)")
        if self._summary_file:
            with open(self._summary_file, "w") as fh:
                json.dump({"steps": self._steps, "changed_tasks": self._changed, "failed_tasks": self._failed,
                           "hosts": hosts, "seconds": round(seconds, 1)}, fh, indent=2)
