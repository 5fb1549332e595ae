"""The interoperable import flow (POST .../import) and /info/import, /info/stores, /info/usage."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
