"""``/v2.0/security-groups`` CRUD; the default group per project."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["network: security groups"])
