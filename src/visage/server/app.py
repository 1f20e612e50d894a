"""The web server of `visage serve`: the page, WebRTC conversations, motion over WebSocket, avatars.

    GET  /               the page (static/index.html; everything it needs is served from here: offline)
    GET  /health         the server's state: sessions, services, versions, CPU load
    GET  /api/options    what the settings panel offers: voices, languages, styles, avatars, brains
    POST /api/offer      {sdp, type, options} -> {sdp, type, session}: a WebRTC conversation
    POST /api/avatars    multipart photo (+ name) -> a new avatar (10 MB, JPEG/PNG/WebP, one face)
    WS   /ws/motion      {"type": "say", "text", "options"} -> face frames and audio as JSON messages

The server holds no state of its own beyond the open connections (`Peers`); models live in the shared
`LiveServices`, loaded in the background at start so /health answers at once.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import platform
import resource
import time
from importlib import metadata
from pathlib import Path

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError

from visage import __version__
from visage.errors import InputError, VisageError
from visage.server import uploads
from visage.server.ice import install_loopback_fallback
from visage.server.peers import IDLE_TIMEOUT, Peers

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
BRAINS = ["embedded", "openai"]
LANGUAGES = {"en": "English", "zh": "中文"}  # the embedded brain and recogniser speak these two
MOUTH_POINTS = (61, 291, 0, 17)  # lip corners, top and bottom of the outer lip line (face-mesh indices)
SECRET_OPTIONS = {"api_key"}  # server defaults never sent to a page


def create_app(services=None, defaults: dict | None = None, max_sessions: int = 0,
               idle_timeout: float = IDLE_TIMEOUT) -> FastAPI:
    """The FastAPI application. `services` (a LiveServices) is made and loaded in the background if not
    given; `defaults` are LiveOptions fields the page's own options are laid over (set by `visage serve`
    flags); `max_sessions` (0: no limit) refuses new conversations once that many run, to keep the ones
    running in real time on a small CPU; `idle_timeout` (s, 0: never) ends a conversation in which
    nothing was said or typed for that long (a forgotten tab would render video for no one)."""
    from visage.live.options import LiveOptions
    from visage.live.services import LiveServices

    services = services if services is not None else LiveServices()
    defaults = dict(defaults or {})
    LiveOptions(**defaults)  # fail at start, not at the first connection, on bad defaults
    peers = Peers(max_sessions, idle_timeout)
    loop_lag = LoopLag()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.loopback_only = install_loopback_fallback()
        app.state.loading = asyncio.ensure_future(_load(services))
        watch = asyncio.ensure_future(loop_lag.run())
        try:
            yield
        finally:
            watch.cancel()
            await peers.close_all()
            app.state.loading.cancel()
            await asyncio.to_thread(services.close)  # the recogniser's process; it restarts if used again

    app = FastAPI(title="visage", version=__version__, lifespan=lifespan, docs_url="/api/docs", redoc_url=None)
    app.state.services, app.state.peers, app.state.defaults = services, peers, defaults
    app.state.started = time.time()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def options_from(data) -> LiveOptions:
        if data is not None and not isinstance(data, dict):
            raise InputError("options must be a JSON object")
        try:
            return LiveOptions(**{**defaults, **{k: v for k, v in (data or {}).items() if v not in (None, "")}})
        except ValidationError as exc:
            raise InputError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None

    async def ready() -> None:
        """Wait for the background load; its failure is the caller's error, with the reason."""
        try:
            await asyncio.shield(app.state.loading)
        except Exception as exc:
            raise VisageError(f"the server could not load its models: {exc}") from None

    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError):
        return JSONResponse({"error": str(exc)}, status_code=422)

    @app.exception_handler(uploads.UploadRefused)
    async def refused(request: Request, exc: uploads.UploadRefused):
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(VisageError)
    async def visage_error(request: Request, exc: VisageError):
        return JSONResponse({"error": str(exc)}, status_code=500)

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/health")
    async def health():
        loading = app.state.loading
        state = "loading" if not loading.done() else ("error" if loading.exception() else "ok")
        try:
            service_state = services.status()
        except Exception as exc:  # /health must answer even when a service cannot say how it is
            service_state = {"status": "error", "error": str(exc)}
        body = {"status": state, "version": __version__, "uptime_s": round(time.time() - app.state.started, 1),
                "sessions": peers.status(), "services": service_state,
                "load": {**_load_figures(), "event_loop_lag_ms": loop_lag.figures()},
                "network": {"loopback_only": getattr(app.state, "loopback_only", None)}, "versions": _versions()}
        if state == "error":
            body["error"] = str(loading.exception())
        return JSONResponse(body, status_code=200 if state != "error" else 503)

    @app.get("/api/options")
    async def options():
        return await asyncio.to_thread(_choices, defaults)

    @app.post("/api/offer")
    async def offer(request: Request):
        try:
            body = await request.json()
            sdp, kind = body["sdp"], body.get("type", "offer")
        except (ValueError, KeyError, TypeError):
            raise InputError("send {\"sdp\": ..., \"type\": \"offer\", \"options\": {...}} as JSON") from None
        if kind != "offer" or not isinstance(sdp, str):
            raise InputError("expected an SDP offer")
        _check_offer(sdp)  # before a session is built for it
        live_options = options_from(body.get("options"))
        if peers.full():
            return JSONResponse({"error": f"the server is busy: {len(peers.active)} conversations are running "
                                          f"(the limit is {peers.max_sessions}); try again later"}, status_code=503)
        await ready()
        from visage.live.session import LiveSession

        building = asyncio.ensure_future(asyncio.to_thread(LiveSession, live_options, services))
        try:  # building a session loads a renderer and more: off the event loop
            session = await asyncio.shield(building)
        except asyncio.CancelledError:  # the page left while its session was being built
            building.add_done_callback(_close_orphan)
            raise
        except VisageError:
            raise
        except Exception as exc:
            log.exception("could not start a session")
            raise VisageError(f"could not start the conversation: {exc}") from None
        try:
            peer, answer = await peers.connect(sdp, kind, session, live_options)
        except ValueError as exc:  # aiortc's word for an SDP it cannot use
            raise InputError(f"the WebRTC offer could not be used: {exc}") from None
        with contextlib.suppress(Exception):
            peer.send({"type": "avatar", **await asyncio.to_thread(_avatar_layout, services, live_options)})
        return {"sdp": answer.sdp, "type": answer.type, "session": peer.id}

    @app.post("/api/sessions/{session_id}/close")
    async def close_session(session_id: str):
        """The page says goodbye (navigator.sendBeacon on pagehide): free the session at once."""
        peer = peers.active.get(session_id)
        if peer is not None:
            peer.close("the page said goodbye")
        return {"closed": peer is not None}

    @app.post("/api/avatars", status_code=201)
    async def upload_avatar(request: Request):
        from visage.backends.renderers.avatar_store import AvatarStore

        upload = await uploads.read_photo_form(request)
        kind = uploads.check_type(upload.data, upload.content_type)
        name = uploads.avatar_name(upload.name, upload.filename)
        created = await uploads.create_avatar(AvatarStore(), upload.data, kind, name, upload.filename, upload.replace)
        with contextlib.suppress(Exception):
            services.forget_avatar(name)  # a replaced avatar must not be served from the cache
        return created

    @app.websocket("/ws/motion")
    async def motion(ws: WebSocket):
        await ws.accept()
        current: asyncio.Task | None = None
        try:
            while True:
                try:
                    message = json.loads(await ws.receive_text())
                    if not isinstance(message, dict):
                        raise ValueError("a message is a JSON object with a 'type'")
                except ValueError as exc:
                    await ws.send_json({"type": "error", "message": f"unreadable message: {exc}"})
                    continue
                kind = message.get("type")
                if current is not None and not current.done() and kind in ("say", "stop"):
                    current.cancel()  # a new text or a stop ends the one being streamed
                    with contextlib.suppress(BaseException):
                        await current
                    if kind == "stop":
                        await ws.send_json({"type": "stopped"})
                if kind == "say":
                    try:
                        text = str(message.get("text", "")).strip()
                        if not text:
                            raise InputError("nothing to say: 'text' is empty")
                        opts = options_from(message.get("options"))
                        await ready()
                    except VisageError as exc:
                        await ws.send_json({"type": "error", "message": str(exc)})
                        continue
                    current = asyncio.ensure_future(_stream_motion(ws, text, opts, services))
                elif kind != "stop":
                    await ws.send_json({"type": "error", "message": f"unknown message type {kind!r}; use say or stop"})
        except WebSocketDisconnect:
            pass
        finally:
            if current is not None:
                current.cancel()

    return app


def _check_offer(sdp: str) -> None:
    """Refuse an SDP that cannot be a WebRTC offer from the page, cheaply, with a reason."""
    from aiortc.sdp import SessionDescription

    try:
        description = SessionDescription.parse(sdp)
    except (ValueError, IndexError, KeyError) as exc:
        raise InputError(f"the WebRTC offer could not be read: {exc}") from None
    kinds = {m.kind for m in description.media}
    if not kinds & {"audio", "video"}:
        raise InputError("the WebRTC offer asks for no audio or video; the page offers both")


def _close_orphan(building: asyncio.Future) -> None:
    if not building.cancelled() and building.exception() is None:
        asyncio.ensure_future(building.result().close())


async def _stream_motion(ws: WebSocket, text: str, options, services) -> None:
    from visage.live.motion_stream import stream_motion

    try:
        async for message in stream_motion(text, options, services):
            await ws.send_text(json.dumps(message, ensure_ascii=False))
    except asyncio.CancelledError:
        raise
    except WebSocketDisconnect:
        pass
    except Exception as exc:  # this client's stream only
        log.exception("motion stream failed")
        with contextlib.suppress(Exception):
            await ws.send_json({"type": "error", "message": f"the motion stream failed: {exc}"})


async def _load(services) -> None:
    began = time.perf_counter()
    await asyncio.to_thread(services.load)
    log.info("models loaded in %.1f s", time.perf_counter() - began)


def _choices(defaults: dict) -> dict:
    """What the settings panel offers; anything that cannot be listed is left out, not an error."""
    from visage.backends.renderers.avatar_store import AvatarStore
    from visage.backends.tts import create_tts, tts_names
    from visage.core.motion.style import style_names

    shown = {k: v for k, v in defaults.items() if k not in SECRET_OPTIONS}
    voices: list[str] = []
    with contextlib.suppress(Exception):
        voices = list(create_tts("espeak").voices())
    avatars = ["default"]
    with contextlib.suppress(Exception):
        avatars += AvatarStore().list()
    return {"brains": BRAINS, "languages": [{"code": c, "name": n} for c, n in LANGUAGES.items()],
            "voices": voices, "tts": list(tts_names()), "styles": list(style_names()), "avatars": avatars,
            "sizes": [256, 384, 512, 768], "fps": [25, 30], "defaults": shown,
            "upload": {"max_bytes": uploads.MAX_PHOTO_BYTES, "types": sorted(uploads.IMAGE_TYPES.values())}}


def _avatar_layout(services, options) -> dict:
    """Where the mouth is in the video, as fractions of its width and height: the page samples that
    region to measure when the lips move (its A/V offset measurement, see app.js)."""
    import numpy as np

    avatar = services.avatar(options.avatar)
    side = float(avatar.image.shape[0])
    points = np.asarray(avatar.landmarks)[list(MOUTH_POINTS), :2] / side
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    pad_x, pad_y = 0.15 * (x1 - x0), 0.6 * (y1 - y0)
    box = [max(0.0, x0 - pad_x), max(0.0, y0 - pad_y), min(1.0, x1 + pad_x), min(1.0, y1 + pad_y)]
    return {"name": options.avatar or "default", "mouth_box": [round(float(v), 4) for v in box]}


class LoopLag:
    """How late the event loop wakes up, over the last 10 s. Every conversation's audio and video are
    paced by this loop: when anything holds it (or the GIL) for 100 ms, packets leave in bursts and
    the browser's jitter buffer grows, which the user hears as latency. /health shows it."""

    PERIOD = 0.05

    def __init__(self) -> None:
        self.samples: collections.deque[float] = collections.deque(maxlen=int(10 / self.PERIOD))

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            await asyncio.sleep(self.PERIOD)
            self.samples.append(max(0.0, loop.time() - began - self.PERIOD))

    def figures(self) -> dict:
        if not self.samples:
            return {"mean": None, "max": None}
        lags = list(self.samples)
        return {"mean": round(1000 * sum(lags) / len(lags), 1), "max": round(1000 * max(lags), 1)}


def _load_figures() -> dict:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"loadavg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
            "cpus": os.cpu_count(), "process_cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "max_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def _versions() -> dict:
    found = {"visage": __version__, "python": platform.python_version()}
    for package in ("aiortc", "fastapi", "uvicorn"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[package] = metadata.version(package)
    return found
