"""Heat v1: stack_actions (to be written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
