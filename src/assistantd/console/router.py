"""``GET /console`` (the single-page app), ``/console/static/...`` (its modules, styles and icons, from the
package's ``static/`` folder) and ``/console/api/...`` (the few JSON routes the ``/v1`` API lacks).

Nothing here is in the OpenAPI document (it describes the API, and schemathesis fuzzes it). Every response
carries a strict Content-Security-Policy: scripts only from this origin, no inline script or style, no
framing, fetches only to this origin; the app builds its DOM with ``textContent``, so even a stored message
full of markup stays text. Assets have no build step and no hashed names, so they are revalidated
(``no-cache`` with an ETag, a 304 when unchanged) rather than cached blind, and gzipped once in memory.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from assistantd.api._json import WireResponse, wire
from assistantd.api.deps import authenticate, services
from assistantd.errors import NotFound
from assistantd.store.db import Database

from . import service

STATIC = Path(__file__).with_name("static")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; font-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}
COMPRESSIBLE = (".js", ".css", ".html", ".svg", ".json")

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/console/api", dependencies=[Depends(authenticate)], include_in_schema=False)


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    etag: str
    media_type: str


_assets: dict[Path, Asset] = {}
"""Files already read, by resolved path: at most the package's own files, whatever paths are asked for."""


def _asset(relative: str) -> Asset | None:
    """One file of ``static/``, read and compressed once per process (the package's files do not change
    under a running server). ``None`` for anything outside the folder or missing (not cached)."""
    root = STATIC.resolve()
    try:
        path = (root / relative).resolve()
        if path in _assets:
            return _assets[path]
        if root not in path.parents or not path.is_file():
            return None
    except (OSError, ValueError):  # a NUL byte, a name too long: no such file
        return None
    _assets[path] = _read(path)
    return _assets[path]


def _read(path: Path) -> Asset:
    body = path.read_bytes()
    media = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media.startswith("text/"):
        media += "; charset=utf-8"
    packed = gzip.compress(body, 6, mtime=0) if path.suffix in COMPRESSIBLE and len(body) > 512 else None
    return Asset(body, packed, '"' + hashlib.sha256(body).hexdigest()[:32] + '"', media)


def _serve(request: Request, asset: Asset) -> Response:
    headers = {**SECURITY_HEADERS, "etag": asset.etag, "cache-control": "no-cache", "vary": "accept-encoding"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    body = asset.body
    if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        body = asset.gzipped
        headers["content-encoding"] = "gzip"
    return Response(body, media_type=asset.media_type, headers=headers)


@router.get("/console")
async def console_page(request: Request) -> Response:
    asset = _asset("index.html")
    assert asset is not None, "the package ships console/static/index.html"
    return _serve(request, asset)


@router.get("/console/static/{path:path}")
async def console_static(path: str, request: Request) -> Response:
    asset = _asset(path)
    if asset is None:
        raise NotFound(f"No console file '{path}'.")
    return _serve(request, asset)


def _db(request: Request) -> Database:
    return services(request).assistants.ctx.db


DbDep = Annotated[Database, Depends(_db)]


@api.get("/threads")
async def search_threads(
    db: DbDep,
    q: str = "",
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> WireResponse:
    """Threads and conversations of the key's project, newest first; ``q`` searches IDs, metadata, text."""
    return wire(await service.search_threads(db, q, after, limit), SECURITY_HEADERS)


@api.get("/threads/{thread_id}/runs")
async def thread_runs(db: DbDep, thread_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 50) -> WireResponse:
    """The thread's runs and responses, newest first, for the console's timelines."""
    return wire(await service.thread_runs(db, thread_id, limit), SECURITY_HEADERS)


@api.get("/usage")
async def project_usage(db: DbDep, days: Annotated[int, Query(ge=1, le=31)] = 14) -> WireResponse:
    """The key's own project's usage per day and model (the organization's endpoint needs the admin key)."""
    return wire(await service.project_usage(db, days), SECURITY_HEADERS)


router.include_router(api)
