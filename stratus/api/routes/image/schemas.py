"""JSON schemas: GET /schemas/image(s), /schemas/member(s)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
