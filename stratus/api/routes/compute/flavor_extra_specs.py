"""Nova ``flavor_extra_specs``: (to be written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["compute: flavor_extra_specs"])
