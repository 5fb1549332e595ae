"""``/v2.0/security-group-rules`` create, list, show, delete."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["network: security group rules"])
