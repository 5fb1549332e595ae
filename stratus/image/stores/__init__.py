"""Image stores: the registry built from settings, and the store that holds a URL.

    stores(settings)          # {"file": FileStore(...), ...}, the default store first
    default_store(settings)   # the store uploads go to
    for_url(url)              # the store that can read/delete a location's url

``settings.image_stores`` maps names to ``{type: file, path: DIR, description: ...}``;
when it is empty there is one file store ``file`` at ``<state_dir>/images``. The object
store plugs in as another ``type`` (and URL scheme) here.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from stratus.image.stores.base import CHUNK, Store, StoreError, private_dir, read_chunks
from stratus.image.stores.file import FileStore

__all__ = ["CHUNK", "FileStore", "Store", "StoreError", "default_store", "for_url",
           "private_dir", "read_chunks", "staging_dir", "stores"]

TYPES = {"file": FileStore}
SCHEMES = {"file": FileStore.for_url}


def _make(name: str, spec: dict) -> Store:
    kind = spec.get("type", "file")
    if kind not in TYPES:
        raise StoreError(f"image store {name}: unknown type {kind!r}; use one of {sorted(TYPES)}")
    if kind == "file" and not spec.get("path"):
        raise StoreError(f"image store {name}: a file store needs a path (image_stores.{name}.path)")
    return TYPES[kind](name, spec["path"], spec.get("description", ""))


def stores(settings) -> dict[str, Store]:
    """The configured stores by name, the default one first."""
    specs = settings.image_stores or {"file": {"type": "file", "path": str(Path(settings.state_dir) / "images")}}
    made = {name: _make(name, dict(spec)) for name, spec in specs.items()}
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
            if isinstance(store, FileStore) and url.startswith(store.path.as_uri() + "/"):
                return store
    scheme = urlparse(url).scheme
    if scheme not in SCHEMES:
        raise StoreError(f"no image store reads {scheme or 'scheme-less'} URLs ({url})")
    return SCHEMES[scheme](url)


def staging_dir(settings) -> Path:
    """Where ``PUT /v2/images/{id}/stage`` keeps data until it is imported."""
    return Path(settings.state_dir) / "image-staging"
