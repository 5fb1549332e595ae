"""``GET /v2.0/extensions`` and ``/extensions/{alias}``: exactly what is implemented
(``stratus.network.extensions.EXTENSIONS``)."""

from __future__ import annotations

from fastapi import APIRouter

from stratus.api.deps import Auth
from stratus.errors import NotFound
from stratus.network import extensions

router = APIRouter(tags=["network: extensions"])


@router.get("/extensions")
def index(ctx: Auth):
    return {"extensions": [extensions.view(a) for a in extensions.EXTENSIONS]}


@router.get("/extensions/{alias}")
def show(alias: str, ctx: Auth):
    if alias not in extensions.EXTENSIONS:
        raise NotFound(f"Extension with alias {alias} does not exist", type="ExtensionNotFound")
    return {"extension": extensions.view(alias)}
