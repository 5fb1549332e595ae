"""``GET /v2.0/extensions`` and ``/extensions/{alias}``: exactly what is implemented."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["network: extensions"])
