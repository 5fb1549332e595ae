"""Networks: ``/v2.0/networks`` CRUD with provider attributes, shared, router:external, ..."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["network: networks"])
