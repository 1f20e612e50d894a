"""The routes that describe the server: its health and what the settings panel may offer.

    GET  /health         the server's state: sessions, services, versions, CPU load, event-loop lag
    GET  /api/options    what the settings panel offers: voices, languages, styles, avatars, brains
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import platform
import resource
import time
from importlib import metadata

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from visage import __version__
from visage.config.settings import BRAINS, LIVE_FPS, OFFERED_SIZES
from visage.server import uploads
from visage.server.state import state_of

LANGUAGES = {"en": "English", "zh": "中文"}  # the embedded brain and recogniser speak these two
router = APIRouter()


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


@router.get("/health")
async def health(request: Request):
    state = state_of(request)
    loading = state.loading
    status = "loading" if not loading.done() else ("error" if loading.exception() else "ok")
    try:
        service_state = state.services.status()
    except Exception as exc:  # /health must answer even when a service cannot say how it is
        service_state = {"status": "error", "error": str(exc)}
    body = {"status": status, "version": __version__, "uptime_s": round(time.time() - state.started, 1),
            "sessions": state.peers.status(), "services": service_state,
            "load": {**_load_figures(), "event_loop_lag_ms": request.app.state.loop_lag.figures()},
            "network": {"loopback_only": getattr(request.app.state, "loopback_only", None)}, "versions": _versions()}
    if status == "error":
        body["error"] = str(loading.exception())
    return JSONResponse(body, status_code=200 if status != "error" else 503)


@router.get("/api/options")
async def options(request: Request):
    return await asyncio.to_thread(_choices, state_of(request).shown_defaults())


def _choices(defaults: dict) -> dict:
    """What the settings panel offers; anything that cannot be listed is left out, not an error."""
    from visage.backends.renderers.avatar_store import AvatarStore
    from visage.backends.tts import create_tts, tts_names
    from visage.core.motion.style import style_names

    voices: list[str] = []
    with contextlib.suppress(Exception):
        voices = list(create_tts("espeak").voices())
    avatars = ["default"]
    with contextlib.suppress(Exception):
        avatars += AvatarStore().list()
    return {"brains": list(BRAINS), "languages": [{"code": c, "name": n} for c, n in LANGUAGES.items()],
            "voices": voices, "tts": list(tts_names()), "styles": list(style_names()), "avatars": avatars,
            "sizes": list(OFFERED_SIZES), "fps": list(LIVE_FPS), "defaults": defaults,
            "upload": {"max_bytes": uploads.MAX_PHOTO_BYTES, "types": sorted(uploads.IMAGE_TYPES.values())}}


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
