"""Routers: ``/v2.0/routers`` CRUD, add/remove_router_interface, extra routes."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["network: routers"])
