"""Talk to a running guest through its serial console, as a person at `virsh console`.

The domain has ``<serial type='pty'>`` with ``<log file=... append='off'/>`` (and a
``<console type='pty'>`` on it). Output is read from the log file (virtlogd writes
every byte the guest prints, from boot on); input is typed into the pty whose
``/dev/pts/N`` path the live domain XML names.

    with GuestConsole("instance-<uuid>") as con:
        con.wait_for(r"STRATUS-GUEST ready", timeout=120)
        rc, out = con.run("cat /proc/cmdline")

``run`` types ``echo "__STRATUS_BEGIN_""<tok>__"; CMD; echo "__STRATUS_RC_""<tok>__ $?"``.
The quotes split the markers in the shell's echo of the typed line, so only the
command's own output matches; the text between the two markers is the output.
"""

from __future__ import annotations

import os
import re
import secrets
import select
import termios
import threading
import time
import tty
import xml.etree.ElementTree as ET
from collections.abc import Callable

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")


class ConsoleTimeout(AssertionError):
    """The expected text did not appear on the console in time (carries the log tail)."""


def strip_ansi(text: str) -> str:
    """Console text without terminal escapes and carriage returns."""
    return _ANSI.sub("", text)


def console_paths(xml: str) -> tuple[str, str]:
    """(log file, pty path) of the first serial port in a live domain XML."""
    root = ET.fromstring(xml)
    serial = root.find("./devices/serial")
    if serial is None:
        raise ValueError("the domain has no <serial> device")
    log = serial.find("log")
    source = serial.find("source")
    log_path = log.get("file", "") if log is not None else ""
    pty = source.get("path", "") if source is not None else ""
    if not pty:
        console = root.find("./devices/console")
        pty = console.get("tty", "") if console is not None else ""
    if not log_path:
        raise ValueError("the domain's <serial> has no <log file=...>: nothing to read output from")
    return log_path, pty


class GuestConsole:
    """The serial console of the libvirt domain ``domain`` at ``uri``.

    ``host_path`` maps a path seen by libvirtd to this process's view (for a libvirtd
    in another mount namespace); identity by default. With ``log_path`` (and
    ``pty_path``) given, libvirt is not asked: any log file + pty pair works.
    """

    def __init__(
        self,
        domain: str,
        uri: str = "qemu:///system",
        *,
        host_path: Callable[[str], str] | None = None,
        log_path: str | None = None,
        pty_path: str | None = None,
    ):
        self.domain = domain
        self.uri = uri
        self.host_path = host_path or (lambda p: p)
        self._fd: int | None = None
        self._drain: threading.Thread | None = None
        self._stop = threading.Event()
        self._token = secrets.token_hex(3)
        self._n = 0
        if log_path is not None:  # a console that is not a libvirt domain's (plain QEMU)
            self.log_path, self.pty_path = log_path, pty_path or ""
        else:
            self.refresh()

    # --- paths ------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the live XML (the pty changes each time the domain starts)."""
        import libvirt

        conn = libvirt.open(self.uri)
        try:
            xml = conn.lookupByName(self.domain).XMLDesc(0)
        finally:
            conn.close()
        log_path, pty = console_paths(xml)
        self.log_path = self.host_path(log_path)
        self.pty_path = pty
        self.close()

    # --- output -----------------------------------------------------------------
    def read(self, since: int = 0) -> str:
        """The console log from byte ``since`` on (raw; see :func:`strip_ansi`)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def size(self) -> int:
        try:
            return os.path.getsize(self.log_path)
        except FileNotFoundError:
            return 0

    def wait_for(self, pattern: str | re.Pattern, timeout: float = 120, since: int = 0) -> re.Match:
        """Wait until the regex ``pattern`` matches the log (from byte ``since``; escapes
        and CRs removed, so ``^``/``$`` work per line with re.M). Returns the match."""
        rx = re.compile(pattern, re.M) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            text = strip_ansi(self.read(since))
            m = rx.search(text)
            if m:
                return m
            if time.monotonic() > deadline:
                tail = "\n".join(text.splitlines()[-40:])
                raise ConsoleTimeout(
                    f"{rx.pattern!r} did not appear on {self.domain}'s console within "
                    f"{timeout:.0f}s ({self.log_path}); last lines:\n{tail}"
                )
            time.sleep(0.2)

    def markers(self, since: int = 0) -> list[str]:
        """Every ``STRATUS-GUEST ...`` line printed so far (without the prefix)."""
        return re.findall(r"^STRATUS-GUEST (.*?)\s*$", strip_ansi(self.read(since)), re.M)

    # --- input ------------------------------------------------------------------
    def _open(self) -> int:
        if self._fd is None:
            if not self.pty_path:
                raise ValueError(f"{self.domain}: the live XML names no pty for the serial port")
            fd = os.open(self.pty_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            tty.setraw(fd, termios.TCSANOW)
            self._fd = fd
            self._stop.clear()
            # Read what the guest prints into the pty, or QEMU stalls when it fills up.
            self._drain = threading.Thread(target=self._drain_loop, args=(fd,), daemon=True)
            self._drain.start()
        return self._fd

    def _drain_loop(self, fd: int) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([fd], [], [], 0.2)
                if ready:
                    os.read(fd, 65536)
            except OSError:
                time.sleep(0.2)

    def write(self, text: str) -> None:
        """Type ``text`` into the console."""
        fd = self._open()
        data = text.encode()
        while data:
            try:
                n = os.write(fd, data)
                data = data[n:]
            except BlockingIOError:
                time.sleep(0.05)

    def run(self, command: str, timeout: float = 60) -> tuple[int, str]:
        """Run a one-line shell command on the console; returns (exit code, output).

        The whole line is typed at once, while the shell's line editor reads (and
        echoes) it, so nothing typed lands in the middle of the command's output.
        """
        if "\n" in command:
            raise ValueError("run() takes one line; join commands with ';' or '&&'")
        self._n += 1
        tok = f"{self._token}_{self._n}"
        since = self.size()
        self.write(f'echo "__STRATUS_BEGIN_""{tok}__"; {command}; echo "__STRATUS_RC_""{tok}__ $?"\n')
        rx = re.compile(rf"__STRATUS_BEGIN_{tok}__\n(.*?)__STRATUS_RC_{tok}__ (\d+)", re.S)
        m = self.wait_for(rx, timeout=timeout, since=since)
        return int(m.group(2)), m.group(1)

    # --- lifetime ---------------------------------------------------------------
    def close(self) -> None:
        self._stop.set()
        if self._drain is not None:
            self._drain.join(timeout=1)
            self._drain = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> GuestConsole:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
