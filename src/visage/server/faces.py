"""The face a browser draws, served once per avatar and size (browser drawing).

    GET /api/faces/{avatar}?size=512[&v=VERSION]   the avatar's "visage-face/1" payload (browser_payload.py)

A payload is 1-2 MB of JSON (the photo, the mesh, the blendshape basis) and takes about half a second
to build, so it is built once per (avatar, size), kept gzipped, and sent with an ETag. Its URL, as the
"avatar" event gives it to the page, carries that version, so a browser may keep it for good
(`immutable`); a replaced avatar gets a new version. It is `private`: the route is behind the same
access rules as the page (access.py: token, Host, Origin), so a shared cache must not keep it either.
An avatar made from a video has no browser drawing: 409, and the page uses the server's video.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import threading
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from visage.errors import InputError

router = APIRouter()
MAX_KEPT = 16  # payloads kept (about 0.5 MB each, gzipped); the oldest goes first


@dataclass(frozen=True)
class FacePayload:
    """One avatar's payload as it is sent: gzipped JSON and its version (a digest of the JSON)."""

    gzipped: bytes
    version: str
    size: int  # bytes of the JSON


class FaceCache:
    """Payloads built on first use, per (avatar name, size), and forgotten when the avatar is replaced."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[tuple[str | None, int], FacePayload] = {}
        # One build per key at a time: ten pages connecting at once must not build the same payload ten
        # times over (each build holds the GIL for ~0.5 s, and the media loop waits behind them).
        self._building: dict[tuple[str | None, int], threading.Lock] = {}

    def get(self, services, name: str | None, size: int) -> FacePayload:
        """Blocking (a build takes ~0.5 s): call it from a worker thread."""
        key = (name, size)
        with self._lock:
            kept = self._kept.get(key)
            building = self._building.setdefault(key, threading.Lock())
        if kept is not None:
            return kept
        with building:  # whoever comes second waits for the first build and takes its result
            with self._lock:
                kept = self._kept.get(key)
            if kept is None:
                kept = self._build(services, name, size)
                with self._lock:
                    self._kept[key] = kept
                    while len(self._kept) > MAX_KEPT:
                        self._building.pop(oldest := next(iter(self._kept)), None)
                        self._kept.pop(oldest)
        return kept

    @staticmethod
    def _build(services, name: str | None, size: int) -> FacePayload:
        from visage.backends.renderers import renderer_for
        from visage.backends.renderers.browser_payload import browser_payload

        avatar = services.avatar(name)
        if renderer_for(avatar) == "video":
            raise NoBrowserDrawing(name)
        data = json.dumps(browser_payload(avatar, size), separators=(",", ":")).encode()
        return FacePayload(gzip.compress(data, 6), hashlib.sha256(data).hexdigest()[:16], len(data))

    def forget(self, name: str | None) -> None:
        with self._lock:
            for key in [k for k in self._kept if k[0] == name]:
                del self._kept[key]
                self._building.pop(key, None)


class NoBrowserDrawing(InputError):
    def __init__(self, name: str | None) -> None:
        super().__init__(f"the avatar {name or 'default'!r} was made from a video: it has no browser drawing; "
                         "use the server's video (drawing: server)")


def face_url(name: str | None, size: int, version: str | None = None) -> str:
    url = f"/api/faces/{name or 'default'}?size={size}"
    return f"{url}&v={version}" if version else url


@router.get("/api/faces/{name}")
async def face(name: str, request: Request, size: int = 512):
    import asyncio

    from visage.backends.renderers.avatar_store import AvatarStore
    from visage.backends.renderers.base import SIZES

    if not SIZES[0] <= size <= SIZES[1]:
        return JSONResponse({"error": f"size: from {SIZES[0]} to {SIZES[1]} pixels"}, status_code=422)
    if name != "default" and name not in await asyncio.to_thread(lambda: AvatarStore().list()):
        return JSONResponse({"error": f"no avatar is named {name!r}"}, status_code=404)
    state = request.app.state.visage  # server/state.py's ServerState (which holds this module's cache)
    await state.ready()
    try:
        payload = await asyncio.to_thread(state.faces.get, state.services, None if name == "default" else name, size)
    except NoBrowserDrawing as exc:
        return JSONResponse({"error": str(exc)}, status_code=409)
    versioned = request.query_params.get("v") == payload.version
    headers = {"ETag": f'"{payload.version}"', "Vary": "Accept-Encoding",
               "Cache-Control": "private, max-age=31536000, immutable" if versioned else "private, no-cache"}
    if request.headers.get("if-none-match", "").strip('W/"') == payload.version:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(payload.gzipped, media_type="application/json", headers={**headers, "Content-Encoding": "gzip"})
    return Response(gzip.decompress(payload.gzipped), media_type="application/json", headers=headers)
