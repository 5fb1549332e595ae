"""``/v2.0/rbac-policies``: share a network with a project."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["network: rbac policies"])
