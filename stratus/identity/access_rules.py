"""Application credentials' access rules: the only requests their tokens may make.

A rule is ``{"service": <catalog type>, "method": <HTTP method>, "path": <pattern>}``;
the path is the request path as the service sees it, without the controller's mount
(``/v2.1/servers`` for ``/compute/v2.1/servers``), where ``*`` or ``{name}`` matches one
path segment and ``**`` any number of them (keystonemiddleware's matching). A token of
a credential with rules may make a request that one rule matches, and nothing else.
"""

from __future__ import annotations

import re
from functools import lru_cache

from stratus.db.types import new_id
from stratus.errors import BadRequest

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
FIELDS = {"id", "service", "method", "path"}

# the controller's mount of each service -> the catalog types it answers for
MOUNTS: dict[str, frozenset[str]] = {
    "identity": frozenset({"identity"}),
    "compute": frozenset({"compute"}),
    "network": frozenset({"network"}),
    "volume": frozenset({"volume", "volumev3", "block-storage"}),
    "image": frozenset({"image"}),
    "orchestration": frozenset({"orchestration"}),
}


def parse(rules, known: list[dict]) -> list[dict]:
    """The checked rules of a create body, each with an id; ``{"id": …}`` alone reuses
    one of ``known`` (the user's existing rules); 400 naming the field otherwise."""
    if rules is None:
        return []
    if not isinstance(rules, list):
        raise BadRequest("Invalid input for field 'access_rules': expecting a list of rules.")
    by_id = {r["id"]: r for r in known}
    out = []
    for i, rule in enumerate(rules):
        where = f"access_rules[{i}]"
        if not isinstance(rule, dict):
            raise BadRequest(f"Invalid input for field '{where}': expecting an object.")
        extra = set(rule) - FIELDS
        if extra:
            raise BadRequest(
                f"Invalid input for field '{where}': unknown keys {sorted(extra)}; a rule has "
                "service, method and path (or the id of an existing rule)."
            )
        if set(rule) == {"id"}:
            if rule["id"] not in by_id:
                raise BadRequest(f"Invalid input for field '{where}.id': no access rule {rule['id']}.")
            out.append(dict(by_id[rule["id"]]))
            continue
        service, method, path = rule.get("service"), rule.get("method"), rule.get("path")
        if not isinstance(service, str) or not service:
            raise BadRequest(f"Invalid input for field '{where}.service': expecting a service type.")
        if method not in METHODS:
            raise BadRequest(
                f"Invalid input for field '{where}.method': expecting one of {', '.join(METHODS)}."
            )
        if not isinstance(path, str) or not path.startswith("/") or len(path) > 255:
            raise BadRequest(
                f"Invalid input for field '{where}.path': expecting a path starting with '/' "
                "(e.g. /v2.1/servers/*)."
            )
        same = next(
            (k for k in known if (k["service"], k["method"], k["path"]) == (service, method, path)),
            None,
        )
        out.append({"id": same["id"] if same else new_id(), "service": service,
                    "method": method, "path": path})
    return out


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern:
    out = []
    for tok in re.finditer(r"(\{[^}]*\})|(\*\*)|(\*)|([^{}*]+)", pattern):
        tag, rec, wild, literal = tok.groups()
        if rec:
            out.append(".*")
        elif tag or wild:
            out.append(r"[^/]+")
        else:
            out.append(re.escape(literal))
    return re.compile("^" + "".join(out) + "$")


def request_target(path: str) -> tuple[frozenset[str], str]:
    """The catalog types a controller path answers for, and the path the service sees."""
    mount, _, rest = path.lstrip("/").partition("/")
    return MOUNTS.get(mount, frozenset()), "/" + rest


def allows(rules, method: str, path: str) -> bool:
    types, service_path = request_target(path)
    method = method.upper()
    return any(
        rule["service"] in types
        and rule["method"] == method
        and _regex(rule["path"]).match(service_path)
        for rule in rules
    )
