"""Image stores: the registry built from settings, and the store that holds a URL.

    stores(settings)          # {"file": FileStore(...), ...}, the default store first
    default_store(settings)   # the store uploads go to
    for_url(url)              # the store that can read/delete a location's url

``settings.image_stores`` maps names to ``{type: file, path: DIR, description: ...}`` or
``{type: swift, container: glance, segment_size: BYTES}`` (:mod:`.swift`: the object
store's service account); when it is empty there is one file store ``file`` at
``<state_dir>/image-store`` (not ``images``: that is a compute host's image cache, and
the all-in-one is both). Each type has a URL scheme (``file``, ``swift``) in SCHEMES.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from stratus.image.stores.base import CHUNK, Store, StoreError, private_dir, read_chunks
from stratus.image.stores.file import FileStore
from stratus.image.stores.swift import SwiftStore

__all__ = ["CHUNK", "FileStore", "Store", "StoreError", "SwiftStore", "default_store", "for_url",
           "private_dir", "read_chunks", "staging_dir", "stores"]


def _file_store(name: str, spec: dict, settings) -> FileStore:
    if not spec.get("path"):
        raise StoreError(f"image store {name}: a file store needs a path (image_stores.{name}.path)")
    return FileStore(name, spec["path"], spec.get("description", ""))


# type -> factory(name, spec, settings); URL scheme -> factory(url, settings)
TYPES = {"file": _file_store, "swift": SwiftStore.from_spec}
SCHEMES = {"file": lambda url, settings: FileStore.for_url(url), "swift": SwiftStore.for_url}


def _make(name: str, spec: dict, settings) -> Store:
    kind = spec.get("type", "file")
    if kind not in TYPES:
        raise StoreError(f"image store {name}: unknown type {kind!r}; use one of {sorted(TYPES)}")
    return TYPES[kind](name, spec, settings)


def stores(settings) -> dict[str, Store]:
    """The configured stores by name, the default one first."""
    specs = settings.image_stores or {"file": {"type": "file", "path": str(Path(settings.state_dir) / "image-store")}}
    made = {name: _make(name, dict(spec), settings) for name, spec in specs.items()}
    default = default_name(settings, made)
    return {default: made[default], **{n: s for n, s in made.items() if n != default}}


def default_name(settings, made: dict[str, Store] | None = None) -> str:
    names = list(made if made is not None else (settings.image_stores or {"file": None}))
    return settings.image_default_store if settings.image_default_store in names else names[0]


def default_store(settings) -> Store:
    return next(iter(stores(settings).values()))


def for_url(url: str, settings=None) -> Store:
    """The store holding ``url``: a configured one when ``settings`` are given and one
    matches, else one made from the URL itself (so data is still removable after its
    store left the settings)."""
    if settings is not None:
        for store in stores(settings).values():
            if store.holds(url):
                return store
    scheme = urlparse(url).scheme
    if scheme not in SCHEMES:
        raise StoreError(f"no image store reads {scheme or 'scheme-less'} URLs ({url})")
    return SCHEMES[scheme](url, settings)


def staging_dir(settings) -> Path:
    """Where ``PUT /v2/images/{id}/stage`` keeps data until it is imported."""
    return Path(settings.state_dir) / "image-staging"
