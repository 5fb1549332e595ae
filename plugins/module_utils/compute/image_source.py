"""Where an image may come from, and reading it with a size cap.

Once the API is built on the ``image_cache`` module, ``source`` comes from a request, so
it is checked against the host's policy before anything is opened (Glance's
``allowed_ports``/``disallowed_hosts`` spirit, stricter):

- a local path is used only when it resolves (symlinks followed) inside one of the
  configured roots, and never inside the image cache or the instance directories;
- an ``http(s)`` URL only when it starts with a configured URL prefix (same scheme,
  host and port, path under the prefix; redirects are checked the same way), and only
  with a hash to check the bytes against;
- anything else (``file://``, ``ftp://``, a relative path) is refused.

``SourcePolicy(allowed, max_size).open(source, hashes, timeout, headers)`` gives a
readable file; ``copy_capped`` copies it, stopping at ``max_size`` bytes. ``headers``
(e.g. the image service's ``X-Image-Ticket``) go with a download and with a redirect
only while it stays on the same origin (scheme, host and port): a credential never
follows a redirect to another server, even an allowed one.
"""

from __future__ import annotations

import os
import re
import stat
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ansible_collections.stratus.cloud.plugins.module_utils.common import validate

from .errors import ImageTooLarge, InvalidInput, NotFound

GIB = 1024**3
DEFAULT_MAX_SIZE = 10 * GIB
# The guest-image cache of tools/build_guest_image.py and a staging directory for
# images the controller hands to this host. Never /var/lib/stratus as a whole: it holds
# tenants' volumes, instance disks and the controller's database.
DEFAULT_ALLOWED = ("/var/lib/stratus/staging", "/var/cache/stratus/guest-image")
CHUNK = 1024 * 1024
# An HTTP header name is an RFC 9110 token.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def _url_parts(url: str) -> tuple[str, str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower(), parts.path or "/"


def same_origin(a: str, b: str) -> bool:
    """True when both URLs have the same scheme, host and port."""
    return _url_parts(a)[:2] == _url_parts(b)[:2]


def check_headers(headers: dict | None) -> dict[str, str]:
    """HTTP request headers from a module option: names are tokens, values one line.
    Values are secrets (a ticket): messages name the header, never its value."""
    out: dict[str, str] = {}
    for name, value in (headers or {}).items():
        name = str(name)
        if not _HEADER_NAME.match(name):
            raise InvalidInput(f"headers: {name!r} is not an HTTP header name (letters, digits "
                               "and !#$%&'*+.^_`|~- only).")
        text = "" if value is None else str(value)
        try:
            validate.single_line(text, error=InvalidInput)
        except InvalidInput:  # its message quotes the value: say it without the secret
            raise InvalidInput(f"headers: the value of {name} holds a newline or another control "
                               "character; give it on one line.") from None
        out[name] = text
    return out


@dataclass(frozen=True)
class SourcePolicy:
    """The roots and URL prefixes images may come from, and the largest image."""

    allowed: tuple[str, ...] = DEFAULT_ALLOWED
    max_size: int = DEFAULT_MAX_SIZE
    forbidden: tuple[str, ...] = ()  # directories never read from (cache, instances)

    @classmethod
    def make(cls, allowed: Iterable[str] | None, max_size: int | None,
             forbidden: Iterable[str | Path] = ()) -> SourcePolicy:
        allowed = tuple(str(a).strip() for a in (allowed if allowed is not None else DEFAULT_ALLOWED))
        for entry in allowed:
            if not (entry.startswith("/") or _is_url(entry)):
                raise InvalidInput(
                    f"allowed_sources entry {entry!r} is neither an absolute directory nor an "
                    "http(s):// URL prefix."
                )
        size = DEFAULT_MAX_SIZE if max_size is None else int(max_size)
        if size < 1:
            raise InvalidInput(f"max_size must be a positive number of bytes, not {max_size!r}.")
        return cls(allowed, size, tuple(str(f) for f in forbidden))

    @classmethod
    def from_host(cls, allowed: Iterable[str] | None, max_size: int | None,
                  conf: dict[str, str]) -> SourcePolicy:
        """The module's arguments where given, else the host's compute config
        (``image_allowed_sources = a, b`` and ``image_max_size = <bytes>``, written by
        the compute role), else the defaults."""
        if allowed is None and conf.get("image_allowed_sources"):
            allowed = [a for a in (x.strip() for x in conf["image_allowed_sources"].split(",")) if a]
        if max_size is None and conf.get("image_max_size", "").isdigit():
            max_size = int(conf["image_max_size"])
        return cls.make(allowed, max_size)

    # checks -----------------------------------------------------------------------
    def check(self, source: str, wanted_hashes: dict[str, str]) -> str:
        """The source to read (a resolved path or the URL), or ``InvalidInput``."""
        source = str(source or "")
        if _is_url(source):
            self.check_url(source)
            if not wanted_hashes:
                raise InvalidInput(
                    f"image source {source} is a download: give its checksum (md5) or "
                    "os_hash_value, so the bytes can be verified before they are used."
                )
            return source
        if "://" in source:
            raise InvalidInput(
                f"image source {source!r} is refused: give a local path or an http(s) URL "
                f"allowed by allowed_sources ({', '.join(self.allowed)})."
            )
        return str(self.check_path(source))

    def check_path(self, source: str) -> Path:
        if not source.startswith("/"):
            raise InvalidInput(f"image source {source!r} must be an absolute path.")
        resolved = Path(os.path.realpath(source))
        for bad in self.forbidden:
            root = Path(os.path.realpath(bad))
            if resolved == root or root in resolved.parents:
                raise InvalidInput(
                    f"image source {source} is inside {root}, which holds cached images or "
                    "instance disks; give the path of an uploaded image instead."
                )
        for root in (a for a in self.allowed if a.startswith("/")):
            real = Path(os.path.realpath(root))
            if real in resolved.parents:
                return resolved
        roots = [a for a in self.allowed if a.startswith("/")] or ["(none)"]
        raise InvalidInput(
            f"image source {source} is outside the allowed directories ({', '.join(roots)}); "
            "put the image in one of them or add its directory to allowed_sources."
        )

    def check_url(self, url: str) -> str:
        scheme, netloc, path = _url_parts(url)
        segments = urllib.parse.unquote(path).split("/")
        if ".." in segments or "." in segments:
            raise InvalidInput(f"image source {url} has '.' or '..' path segments; give a plain URL.")
        for prefix in (a for a in self.allowed if _is_url(a)):
            p_scheme, p_netloc, p_path = _url_parts(prefix)
            p_path = p_path if p_path.endswith("/") else p_path + "/"
            if (scheme, netloc) == (p_scheme, p_netloc) and (
                path.startswith(p_path) or path + "/" == p_path
            ):
                return url
        prefixes = [a for a in self.allowed if _is_url(a)] or ["(none)"]
        raise InvalidInput(
            f"image source {url} does not start with an allowed URL prefix "
            f"({', '.join(prefixes)}); add the image service's URL to allowed_sources."
        )

    # reads ------------------------------------------------------------------------
    def open(self, source: str, wanted_hashes: dict[str, str], timeout: float,
             headers: dict[str, str] | None = None):
        """A readable binary file of the checked source (closed by the caller);
        ``headers`` go with a download (see the module docstring)."""
        checked = self.check(source, wanted_hashes)
        headers = check_headers(headers)
        if _is_url(checked):
            return self._open_url(checked, timeout, headers)
        if headers:
            raise InvalidInput(f"image source {source} is a local path: headers apply only to "
                               "http(s) sources; leave them out.")
        try:
            fd = os.open(checked, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            raise NotFound(f"image source {source} cannot be read: {exc.strerror}.") from exc
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise InvalidInput(f"image source {source} is not a regular file.")
        if st.st_size > self.max_size:
            os.close(fd)
            raise ImageTooLarge(
                f"image source {source} is {st.st_size} bytes, more than max_size "
                f"({self.max_size}); raise max_size or use a smaller image."
            )
        return os.fdopen(fd, "rb")

    def _open_url(self, url: str, timeout: float, extra: dict[str, str]):
        policy = self

        class Redirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, req, fp, code, msg, headers, newurl):
                target = urllib.parse.urljoin(req.full_url, newurl)
                if not _is_url(target):
                    raise InvalidInput(f"image source {url} redirects to {target}, which is refused.")
                policy.check_url(target)
                new = super().redirect_request(req, fp, code, msg, headers, newurl)
                if new is not None and not same_origin(url, target):
                    for name in extra:  # the credential stays with its origin
                        new.remove_header(name.capitalize())
                return new

        opener = urllib.request.build_opener(Redirect)
        try:
            response = opener.open(urllib.request.Request(url, headers=extra), timeout=timeout)
        except (urllib.error.URLError, OSError) as exc:
            raise NotFound(f"cannot download image from {url}: {exc}") from exc
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > self.max_size:
            response.close()
            raise ImageTooLarge(
                f"image source {url} is {length} bytes, more than max_size ({self.max_size}); "
                "raise max_size or use a smaller image."
            )
        return response


def copy_capped(src, out, max_size: int, digests: dict, source: str) -> int:
    """Copy ``src`` to ``out`` updating ``digests``; ``ImageTooLarge`` as soon as more
    than ``max_size`` bytes came. Returns the byte count."""
    total = 0
    while chunk := src.read(CHUNK):
        total += len(chunk)
        if total > max_size:
            raise ImageTooLarge(
                f"image source {source} is larger than max_size ({max_size} bytes); the "
                "download was stopped. Raise max_size or use a smaller image."
            )
        out.write(chunk)
        for d in digests.values():
            d.update(chunk)
    return total

