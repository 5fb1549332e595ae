"""Images: create, list, show, update (JSON patch), delete, deactivate/reactivate."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
