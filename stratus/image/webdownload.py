"""The ``web-download`` import method's fetch: only http(s) URLs matching one of the
operator's shell patterns (``settings.image_web_download_allowed``), redirects checked
against the same patterns, no proxies from the environment, and a size cap while the
bytes are written to the staging area."""

from __future__ import annotations

import fnmatch
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from stratus.errors import BadRequest
from stratus.image.stores import CHUNK, private_dir
from stratus.image.upload import too_large

SCHEMES = ("http", "https")
TIMEOUT = 60


def check_uri(uri: str, patterns: list[str]) -> str:
    """``uri`` when web-download may fetch it; 400 naming the setting otherwise."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme not in SCHEMES or not parts.hostname or parts.username
            or any(c.isspace() or ord(c) < 32 for c in uri)
            or not any(fnmatch.fnmatchcase(uri, p) for p in patterns)):
        raise BadRequest(
            f"URI for web-download does not pass filtering: {uri} (web-download fetches only "
            f"{'/'.join(SCHEMES)} URLs matching a pattern of the image_web_download_allowed "
            f"setting: {', '.join(patterns) or 'none set'}; ask the operator to allow it).")
    return uri


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, patterns: list[str]) -> None:
        self.patterns = patterns

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check_uri(newurl, self.patterns)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def opener(patterns: list[str]) -> urllib.request.OpenerDirector:
    """http(s) only (no file:, ftp:, data:), no proxies, redirects checked."""
    o = urllib.request.OpenerDirector()
    for handler in (urllib.request.HTTPHandler(), urllib.request.HTTPSHandler(),
                    _CheckedRedirects(patterns), urllib.request.HTTPDefaultErrorHandler(),
                    urllib.request.HTTPErrorProcessor()):
        o.add_handler(handler)
    return o


def fetch(uri: str, patterns: list[str], directory: Path, image_id: str, cap: int) -> Path:
    """Download ``uri`` to a new file in ``directory``; the file's path. Raises
    BadRequest (not allowed, unreachable) or OverLimit (past ``cap``); no file is left."""
    check_uri(uri, patterns)
    fd, tmp = tempfile.mkstemp(dir=private_dir(directory), prefix=f".{image_id}.", suffix=".web")
    try:
        with os.fdopen(fd, "wb") as out, opener(patterns).open(uri, timeout=TIMEOUT) as resp:
            size = 0
            while data := resp.read(CHUNK):
                size += len(data)
                if size > cap:
                    raise too_large()
                out.write(data)
    except (urllib.error.URLError, OSError, ValueError) as e:
        os.unlink(tmp)
        raise BadRequest(f"web-download of {uri} failed: {e}") from None
    except BaseException:
        os.unlink(tmp)
        raise
    return Path(tmp)
