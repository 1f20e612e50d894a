"""The web server of `visage serve`: the page, WebRTC conversations, motion over WebSocket, avatars.

    GET  /               the page (static/index.html; everything it needs is served from here: offline)
    GET  /health, GET /api/options                      status.py
    POST /api/offer, POST /api/sessions/{id}/close      conversations.py (WebRTC)
    WS   /ws/motion                                     conversations.py (face frames and audio as JSON)
    POST /api/avatars    multipart photo (+ name) -> a new avatar (10 MB, JPEG/PNG/WebP, one face)
    GET  /api/faces/{avatar}?size=512                   faces.py (the face a browser draws, once)

The server holds no state of its own beyond the open connections (`Peers`, or with `workers` > 1 the
`WorkerPool` whose processes hold them: workers.py); models live in the shared
`LiveServices`, loaded in the background at start so /health answers at once. Errors a user can act on
are answered with their message: bad input (a setting, an offer, a photo) 400/422, a failure 500.
Every request first passes `access.AccessGuard` (token, Host, Origin, body size, rates).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from visage import __version__
from visage.config.settings import DEFAULT_TTS
from visage.errors import InputError, VisageError
from visage.live.services import LiveServices
from visage.server import conversations, faces, status, uploads
from visage.server.access import Access, AccessGuard, Limits, default_max_drawn_sessions, default_max_sessions
from visage.server.catalog import Catalog, OfferSettings
from visage.server.ice import install_loopback_fallback
from visage.server.peers import IDLE_TIMEOUT, Peers
from visage.server.state import ServerState, state_of
from visage.server.worker_process import WorkerConfig
from visage.server.workers import WorkerPool

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"


def create_app(services: LiveServices | None = None, defaults: dict | None = None, max_sessions: int | None = None,
               idle_timeout: float = IDLE_TIMEOUT, access: Access | None = None, limits: Limits | None = None,
               offer: OfferSettings | None = None, max_drawn_sessions: int | None = None,
               workers: int = 1) -> FastAPI:
    """The FastAPI application. `services` (a LiveServices) is made and loaded in the background if not
    given; `defaults` are LiveOptions fields the page's own options are laid over (set by `visage serve`
    flags); `max_sessions` (None: one per CPU core, 0: no limit) refuses new conversations once that many
    run, to keep the ones running in real time (`max_drawn_sessions` the same for conversations the
    browser draws, None: 8 per core); `idle_timeout` (s, 0: never) ends a conversation in
    which nothing was said or typed for that long (a forgotten tab would render video for no one);
    `access` the token, Host and Origin rules (default: a loopback server without a token); `limits`
    the request limits; `offer` the named brains, knowledge bases and styles pages may choose;
    `workers` > 1 holds the conversations in that many worker processes (workers.py), 1 in this one."""
    defaults, limits = dict(defaults or {}), limits or Limits()
    services = services if services is not None else LiveServices()
    max_sessions = default_max_sessions() if max_sessions is None else max_sessions
    max_drawn = default_max_drawn_sessions() if max_drawn_sessions is None else max_drawn_sessions
    pool = None
    if workers > 1:
        config = WorkerConfig(asr=services.asr_name, asr_options=services.asr_options, idle_timeout=idle_timeout,
                              max_text=limits.max_text_chars, messages_per_minute=limits.messages_per_minute,
                              log_level=logging.getLogger().getEffectiveLevel())
        pool = WorkerPool(workers, config, max_sessions, max_drawn)
    peers = pool or Peers(max_sessions, idle_timeout, limits.max_text_chars, max_drawn=max_drawn)
    state = ServerState(services, peers, defaults, Catalog(defaults, offer), access or Access(), limits, workers=pool)
    state.peers.messages = state.messages
    app = FastAPI(title="visage", version=__version__, lifespan=_lifespan, docs_url="/api/docs", redoc_url=None)
    app.add_middleware(AccessGuard, access=state.access, limits=limits)
    if state.access.cors_origins:  # outside the guard: it answers the preflights of the allowed origins
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(state.access.cors_origins), allow_credentials=True,
                           allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"])
    app.state.visage, app.state.loop_lag = state, status.LoopLag()
    app.state.services, app.state.peers, app.state.defaults = state.services, state.peers, state.defaults
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(status.router)
    app.include_router(conversations.router)
    app.include_router(faces.router)
    app.add_api_route("/", _page, include_in_schema=False)
    app.add_api_route("/api/avatars", _upload_avatar, methods=["POST"], status_code=201)
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(uploads.UploadRefused, _refused)
    app.add_exception_handler(VisageError, _visage_error)
    return app


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI):
    state: ServerState = app.state.visage
    app.state.loopback_only = install_loopback_fallback()
    if state.workers is not None:
        state.workers.start()
    state.loading = asyncio.ensure_future(_load(state))
    watch = asyncio.ensure_future(app.state.loop_lag.run())
    try:
        yield
    finally:
        watch.cancel()
        await state.peers.close_all()
        state.loading.cancel()
        await asyncio.to_thread(state.services.close)  # the recogniser's process; it restarts if used again


async def _load(state: ServerState) -> None:
    began = time.perf_counter()
    await asyncio.to_thread(state.services.load, asr=state.workers is None)  # workers hear with their own
    state.voices = await asyncio.to_thread(status.voice_names, state.defaults.get("tts", DEFAULT_TTS))
    log.info("models loaded in %.1f s", time.perf_counter() - began)


async def _page():
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def _upload_avatar(request: Request):
    from visage.backends.renderers.avatar_store import AvatarStore

    upload = await uploads.read_photo_form(request)
    kind = uploads.check_type(upload.data, upload.content_type)
    name = uploads.avatar_name(upload.name, upload.filename)
    created = await uploads.create_avatar(AvatarStore(), upload.data, kind, name, upload.filename, upload.replace)
    with contextlib.suppress(Exception):
        state_of(request).services.forget_avatar(name)  # a replaced avatar must not be served from the cache
        if state_of(request).workers is not None:
            state_of(request).workers.forget_avatar(name)
        state_of(request).faces.forget(name)
    return created


async def _input_error(request: Request, exc: InputError):
    return JSONResponse({"error": str(exc)}, status_code=422)


async def _refused(request: Request, exc: uploads.UploadRefused):
    return JSONResponse({"error": exc.message}, status_code=exc.status)


async def _visage_error(request: Request, exc: VisageError):
    return JSONResponse({"error": str(exc)}, status_code=500)
