"""A key repository directory (Fernet or credential keys: files named by integers) read
whole, or made to hold exactly a given set of keys: how the controller role copies the
first controller's repositories to the others. Standard library only (runs on hosts)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome


class KeyRepositoryError(Exception):
    """A repository that cannot be read or written, or a key name that is not a key's."""


def read(path: str) -> dict[str, str]:
    """The keys of the repository at ``path`` by file name ({} when it does not exist)."""
    d = Path(path)
    if not d.is_dir():
        return {}
    try:
        return {p.name: p.read_text().strip() for p in d.iterdir() if p.name.isdigit() and p.is_file()}
    except OSError as exc:
        raise KeyRepositoryError(f"cannot read the key repository {path}: {exc}") from exc


def facts(keys: dict[str, str]) -> dict[str, str]:
    """What a diff may show of keys: their names and a short fingerprint, never the key."""
    return {name: hashlib.sha256(value.encode()).hexdigest()[:12] for name, value in sorted(keys.items())}


def ensure(path: str, wanted: dict[str, str], check: bool = False) -> Outcome:
    """Make ``path`` (mode 0700) hold exactly ``wanted`` (files mode 0600): keys written
    atomically first, then keys it should no longer have removed."""
    bad = sorted(name for name in wanted if not str(name).isdigit())
    if bad:
        raise KeyRepositoryError(f"key names must be integers (0 staged, highest primary), not {bad}")
    d = Path(path)
    if d.exists() and not d.is_dir():
        raise KeyRepositoryError(f"{path} exists and is not a directory: remove it or choose another path")
    have = read(path)
    write = sorted((n for n, v in wanted.items() if have.get(n) != v.strip()), key=int)
    drop = sorted((n for n in have if n not in wanted), key=int)
    actions = ([f"create {path}"] if not d.is_dir() else []) + [f"write key {n}" for n in write] + [
        f"remove key {n}" for n in drop]
    mode_fix = d.is_dir() and (d.stat().st_mode & 0o777) != 0o700
    if mode_fix:
        actions.append(f"chmod 0700 {path}")
    outcome = Outcome(bool(actions), facts(have), facts({n: v.strip() for n, v in wanted.items()}), actions)
    if check or not actions:
        return outcome
    try:
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(d, 0o700)
        for name in write:
            tmp = d / f".{name}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(wanted[name].strip())
            os.replace(tmp, d / name)
        for name in drop:
            (d / name).unlink()
    except OSError as exc:
        raise KeyRepositoryError(f"cannot write the key repository {path}: {exc}") from exc
    return outcome
