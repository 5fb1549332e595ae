"""Image data: upload (``PUT .../file``, ``.../stage``) and download (``GET .../file``).

Uploads are ``async`` routes that read the body chunk by chunk (``request.stream()``)
into a :class:`stratus.image.upload.Sink`; every DB step and every file write runs in a
worker thread, so a large upload neither blocks the event loop nor sits in memory.
Downloads stream from the store in chunks, with ``Range`` (206) as Glance does.

A compute host sends ``X-Image-Ticket`` (a download ticket for ``GET``, an upload ticket
for ``PUT .../file``) instead of ``X-Auth-Token``.
"""

from __future__ import annotations

import functools
import re

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from starlette.requests import ClientDisconnect

from stratus.api.deps import DbSession, PolicyChecker, get_context
from stratus.api.routes.image._wire import GUARDS
from stratus.errors import ApiError, BadRequest, NotFound
from stratus.image import access, records, tickets, upload
from stratus.image import stores as _stores
from stratus.image.data import staged_path

router = APIRouter(dependencies=GUARDS)

OCTET = "application/octet-stream"
# After a refusal, at most this much of the rest of the body is read (and dropped) so
# that the client sees the answer instead of a reset connection.
DRAIN_LIMIT = 64 << 20


def _caller(request: Request, db, image_id: str, purpose: str):
    """(context or None, image): by X-Image-Ticket when sent, else by token."""
    ticket = request.headers.get(tickets.HEADER)
    if ticket:
        return None, access.by_ticket(db, request.app.state.fernet, image_id, purpose, ticket)
    ctx = get_context(request, db)
    return ctx, records.get(db, ctx, image_id)


def _policy(request: Request, ctx) -> PolicyChecker | None:
    return PolicyChecker(request.app.state.enforcer, ctx) if ctx is not None else None


def _declared_size(request: Request) -> int | None:
    value = request.headers.get("x-openstack-image-size") or request.headers.get("content-length")
    if value is None:
        return None
    if not value.isdigit():
        raise BadRequest("Invalid or missing image size in request headers.")
    return int(value)


def _content_type(request: Request) -> None:
    ctype = request.headers.get("content-type", "").split(";")[0].strip()
    if ctype != OCTET:
        raise ApiError(f"Invalid content type {ctype or None}: image data is sent as {OCTET}.", status=415)


def _begin(request: Request, image_id: str, stage: bool) -> upload.Target:
    settings = request.app.state.settings
    with request.app.state.db.session() as db:
        if stage:
            ctx = get_context(request, db)
            image = records.get(db, ctx, image_id)
        else:
            ctx, image = _caller(request, db, image_id, tickets.UPLOAD)
        if ctx is not None:
            access.may_upload(_policy(request, ctx), ctx, image)
        return upload.begin(db, image, settings, stage=stage, declared_size=_declared_size(request),
                            store=request.headers.get("x-image-meta-store"))


def _finish(request: Request, target: upload.Target, sink: upload.Sink) -> None:
    settings = request.app.state.settings
    with request.app.state.db.session() as db:
        if target.stage:
            upload.finish_stage(db, target, sink, settings)
            undo = staged_path(settings, target.image_id).unlink
        else:
            store, url = upload.finish_upload(db, target, sink, settings)
            undo = functools.partial(store.delete, url)
        try:
            db.commit()
        except BaseException:
            undo()
            raise


def _abort(request: Request, target: upload.Target, sink: upload.Sink | None) -> None:
    with request.app.state.db.session() as db:
        upload.abort(db, target, sink)


async def _drain(request: Request) -> None:
    """Read (and drop) what is left of the body, up to DRAIN_LIMIT."""
    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > DRAIN_LIMIT:
                return
    except (ClientDisconnect, RuntimeError):
        return


async def _receive(request: Request, image_id: str, *, stage: bool) -> Response:
    _content_type(request)
    if stage and "glance-direct" not in request.app.state.settings.image_import_methods:
        raise NotFound("'glance-direct' method is not available at this site.")
    try:
        target = await run_in_threadpool(_begin, request, image_id, stage)
    except ApiError:
        await _drain(request)
        raise
    sink = None
    try:
        sink = await run_in_threadpool(target.sink, request.app.state.db.session,
                                       request.app.state.settings.quota_defaults)
        buf = bytearray()
        async for chunk in request.stream():
            buf += chunk
            if len(buf) >= _stores.CHUNK:
                data, buf = buf, bytearray()
                if sink.over(data) is not None or not sink.put_nowait(data):
                    await run_in_threadpool(sink.put, data)
        if buf:
            await run_in_threadpool(sink.put, buf)
        await run_in_threadpool(_finish, request, target, sink)
    except BaseException as e:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_abort, request, target, sink)
            if isinstance(e, ApiError):
                await _drain(request)
        raise
    return Response(status_code=204)


@router.put("/images/{image_id}/file", status_code=204)
async def upload_file(image_id: str, request: Request) -> Response:
    return await _receive(request, image_id, stage=False)


@router.put("/images/{image_id}/stage", status_code=204)
async def stage_file(image_id: str, request: Request) -> Response:
    return await _receive(request, image_id, stage=True)


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a ``Range: bytes=...`` header (Glance: one range only)."""
    if header is None:
        return None
    if "," in header:
        raise BadRequest("Requests with multiple ranges are not supported in Glance. "
                         "You may make multiple single-range requests instead.")
    m = _RANGE.match(header.strip())
    if not m or m.groups() == ("", ""):
        raise ApiError("Invalid Range header.", status=416, headers={"Content-Range": f"bytes */{size}"})
    first, last = m.groups()
    if first == "":  # the last N bytes
        n = int(last)
        if n == 0:
            raise ApiError("Invalid Range header.", status=416, headers={"Content-Range": f"bytes */{size}"})
        return max(0, size - n), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise ApiError("Invalid start position in Range header. Start position MUST be in the "
                       f"inclusive range [0, {max(size - 1, 0)}].", status=416,
                       headers={"Content-Range": f"bytes */{size}"})
    return start, end


@router.get("/images/{image_id}/file")
def download_file(image_id: str, request: Request, db: DbSession):
    ctx, image = _caller(request, db, image_id, tickets.DOWNLOAD)
    access.may_download(_policy(request, ctx), ctx, image)
    if not image.locations or image.size is None:
        return Response(status_code=204)
    loc = image.locations[0]
    rng = byte_range(request.headers.get("range"), image.size)
    start, end = rng or (0, image.size - 1)
    length = max(0, end - start + 1)
    try:
        chunks = _stores.for_url(loc.url, request.app.state.settings).open(loc.url, start, length)
    except (_stores.StoreError, OSError):
        return Response(status_code=204)  # Glance: the store lost the data
    headers = {"Content-Length": str(length)}
    if image.checksum:
        headers["Content-MD5"] = image.checksum
    if rng:
        headers["Content-Range"] = f"bytes {start}-{end}/{image.size}"
    return StreamingResponse(chunks, status_code=206 if rng else 200, media_type=OCTET, headers=headers)
