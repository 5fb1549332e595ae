"""Discovery: ``GET /network`` (the catalog's URL) and ``/network/v2.0``."""

from __future__ import annotations

from fastapi import APIRouter

PREFIX = "/network"
router = APIRouter(tags=["network: versions"])
