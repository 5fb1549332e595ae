"""Containers as a module wants them: ``Containers(client).ensure_present(...)`` /
``ensure_absent(...)`` return an :class:`Outcome` (changed, before/after facts,
actions); check mode asks Swift (HEAD, listings) and writes nothing.

What a container's facts hold (:func:`container_facts`): name, object_count,
bytes_used, metadata (keys lower-cased), read_acl, write_acl, versions_location,
history_location (``""`` when unset), storage_policy.

Update rules: metadata keys given are set; with ``purge_metadata`` the others are
removed (``X-Remove-Container-Meta-*``). An ACL or location of ``None`` is left as
it is, ``""`` removes it. ``versions_location`` and ``history_location`` exclude each
other (Swift refuses both): setting one removes the other.
"""

from __future__ import annotations

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome

from .client import (
    InvalidRequest,
    SwiftClient,
    SwiftHTTPError,
    check_container_name,
    check_header_name,
    metadata_of,
)

META = "x-container-meta-"
# option -> Swift header
SETTINGS = {
    "read_acl": "X-Container-Read",
    "write_acl": "X-Container-Write",
    "versions_location": "X-Versions-Location",
    "history_location": "X-History-Location",
}


def container_facts(name: str, headers: dict | None) -> dict:
    if headers is None:
        return {}
    facts = {
        "name": name,
        "object_count": int(headers.get("x-container-object-count", 0)),
        "bytes_used": int(headers.get("x-container-bytes-used", 0)),
        "metadata": metadata_of(headers, META),
        "storage_policy": headers.get("x-storage-policy", ""),
    }
    for option, header in SETTINGS.items():
        facts[option] = headers.get(header.lower(), "")
    return facts


def normalize_metadata(metadata: dict | None) -> dict[str, str] | None:
    """User metadata with lower-cased keys (Swift's are case-insensitive) as text."""
    if metadata is None:
        return None
    out = {}
    for key, value in metadata.items():
        check_header_name(str(key))
        out[str(key).lower()] = "" if value is None else str(value)
    return out


def metadata_changes(current: dict, wanted: dict | None, purge: bool, remove_prefix: str,
                     set_prefix: str) -> tuple[dict, dict]:
    """``(headers, metadata after)`` that bring ``current`` to ``wanted``."""
    if wanted is None:
        return {}, dict(current)
    headers = {}
    after = dict(current)
    for key, value in wanted.items():
        if current.get(key) != value:
            headers[set_prefix + key] = value
            after[key] = value
    if purge:
        for key in current:
            if key not in wanted:
                headers[remove_prefix + key] = "x"
                after.pop(key)
    return headers, after


class Containers:
    def __init__(self, client: SwiftClient):
        self.client = client

    def facts(self, name: str) -> dict:
        return container_facts(name, self.client.head_container(name))

    def ensure_present(self, name: str, *, metadata: dict | None = None, purge_metadata: bool = False,
                       check: bool = False, **settings) -> Outcome:
        """The container exists with ``metadata`` and the given ``settings``
        (read_acl, write_acl, versions_location, history_location; None = leave)."""
        check_container_name(name)
        wanted_meta = normalize_metadata(metadata)
        unknown = set(settings) - set(SETTINGS)
        if unknown:
            raise TypeError(f"unknown container settings {sorted(unknown)}")
        if settings.get("versions_location") and settings.get("history_location"):
            raise InvalidRequest(f"container {name}: give versions_location or history_location, not "
                                 "both (Swift keeps one versioning mode per container)")
        before = self.facts(name)
        current = before or {"name": name, "object_count": 0, "bytes_used": 0, "metadata": {},
                             "storage_policy": "", **{k: "" for k in SETTINGS}}
        headers, meta_after = metadata_changes(current["metadata"], wanted_meta, purge_metadata,
                                               "X-Remove-Container-Meta-", "X-Container-Meta-")
        after = dict(current, metadata=meta_after)
        for option, header in SETTINGS.items():
            value = settings.get(option)
            if value is None or value == current[option]:
                continue
            if value == "":
                headers["X-Remove-" + header[2:]] = "x"
            else:
                headers[header] = value
                other = {"versions_location": "history_location",
                         "history_location": "versions_location"}.get(option)
                if other and current[other] and not settings.get(other):
                    headers["X-Remove-" + SETTINGS[other][2:]] = "x"
                    after[other] = ""
            after[option] = value
        actions = []
        if not before:
            actions.append(f"create container {name}")
            if not check:
                self.client.put_container(name, {k: v for k, v in headers.items()
                                                 if not k.startswith("X-Remove-")})
        elif headers:
            actions.append(f"update container {name}: " + ", ".join(sorted(headers)))
            if not check:
                self.client.post_container(name, headers)
        if not actions:
            return Outcome(False, before, before, [])
        if not check:
            after = self.facts(name)
        return Outcome(True, before, after, actions)

    def ensure_absent(self, name: str, *, delete_objects: bool = False, check: bool = False) -> Outcome:
        """The container is gone; with ``delete_objects`` its objects first (SLO
        manifests with their segments). A non-empty container without it fails with
        Swift's 409."""
        check_container_name(name)
        before = self.facts(name)
        if not before:
            return Outcome(False, {}, {}, [])
        actions = []
        if delete_objects:
            listing = self.client.list_objects(name)
            for item in listing:
                is_slo = "slo_etag" in item
                actions.append(f"delete object {item['name']}" + (" and its segments" if is_slo else ""))
                if not check:
                    self.client.delete_object(name, item["name"],
                                              query={"multipart-manifest": "delete"} if is_slo else None)
        actions.append(f"delete container {name}")
        if not check:
            try:
                self.client.delete_container(name)
            except SwiftHTTPError as exc:
                if exc.status == 409:
                    raise exc.with_hint(f"container {name} still holds objects: set delete_objects: "
                                        "true to delete them with it") from None
                raise
        return Outcome(True, before, {}, actions)
