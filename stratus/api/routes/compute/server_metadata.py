"""Nova ``server_metadata``: (to be written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["compute: server_metadata"])
