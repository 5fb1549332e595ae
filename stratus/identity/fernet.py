"""A Fernet key repository on disk, as keystone-manage keeps it.

The directory holds files named by integers: ``0`` is the *staged* key (the next
primary, already accepted for decryption so that every controller knows it before it
signs with it), the highest number is the *primary* (encrypts new tokens), the others
are *secondary* keys (still decrypt tokens issued before a rotation). ``rotate()``
promotes the staged key to primary (max+1), writes a new staged key and removes the
oldest secondaries beyond ``max_active_keys``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class KeyRepositoryError(Exception):
    pass


class FernetKeys:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._loaded_mtime: float | None = None
        self._fernet: MultiFernet | None = None
        self._raw: list[bytes] = []

    # --- repository ---------------------------------------------------------------
    def _key_files(self) -> dict[int, Path]:
        if not self.directory.is_dir():
            return {}
        out = {}
        for p in self.directory.iterdir():
            if p.name.isdigit():
                out[int(p.name)] = p
        return out

    def _write(self, index: int, key: bytes) -> None:
        tmp = self.directory / f".{index}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        os.replace(tmp, self.directory / str(index))

    def setup(self) -> bool:
        """Create the repository with a staged and a primary key; False if it exists."""
        if self._key_files():
            return False
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._write(0, Fernet.generate_key())
        self._write(1, Fernet.generate_key())
        self._fernet = None
        return True

    def rotate(self, max_active_keys: int = 3) -> list[int]:
        """Staged -> new primary, new staged, prune; returns the key indexes kept."""
        files = self._key_files()
        if not files:
            self.setup()
            files = self._key_files()
        staged = files[0].read_bytes()
        new_primary = max(files) + 1
        self._write(new_primary, staged)
        self._write(0, Fernet.generate_key())
        files = self._key_files()
        secondaries = sorted(i for i in files if i not in (0, new_primary))
        excess = len(files) - max_active_keys
        for i in secondaries[: max(0, excess)]:
            files[i].unlink()
        self._fernet = None
        return sorted(self._key_files())

    # --- crypto ------------------------------------------------------------------
    def _multi(self) -> MultiFernet:
        try:
            mtime = self.directory.stat().st_mtime
        except FileNotFoundError:
            raise KeyRepositoryError(
                f"Fernet key repository {self.directory} does not exist; run `stratus bootstrap` "
                "or `stratus token setup`."
            ) from None
        with self._lock:
            if self._fernet is None or mtime != self._loaded_mtime:
                files = self._key_files()
                if not files:
                    raise KeyRepositoryError(f"no Fernet keys in {self.directory}")
                # primary first: MultiFernet encrypts with the first key
                order = sorted(files, reverse=True)
                order.remove(0)
                order.append(0)
                self._raw = [files[i].read_bytes().strip() for i in order]
                self._fernet = MultiFernet([Fernet(k) for k in self._raw])
                self._loaded_mtime = mtime
            return self._fernet

    def encrypt(self, data: bytes) -> str:
        return self._multi().encrypt(data).decode().rstrip("=")

    def derived_keys(self, label: bytes) -> list[bytes]:
        """One HMAC key per key of the repository (primary first), derived for
        ``label``: other signed things (image download tickets) rotate with the token
        keys but can never pass for a token."""
        self._multi()
        return [hmac.new(k, b"stratus:" + label, hashlib.sha256).digest() for k in self._raw]

    def decrypt(self, token: str) -> bytes:
        """Raises ``InvalidToken`` for a token no key of the repository made."""
        token = token.strip()
        token += "=" * (-len(token) % 4)
        return self._multi().decrypt(token.encode())


__all__ = ["FernetKeys", "InvalidToken", "KeyRepositoryError"]
