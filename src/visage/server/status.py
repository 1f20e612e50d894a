"""The routes that describe the server: its health and what the settings panel may offer.

    GET  /health         the server's state: sessions, services, versions, CPU load, event-loop lag
    GET  /api/options    what the settings panel offers: voices, languages, styles, avatars (with the voice
                         each speaks with), brains
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
from visage.backends.tts.catalogue import DEFAULT_VOICE
from visage.config.settings import DEFAULT_TTS, LIVE_FPS, OFFERED_SIZES
from visage.server import uploads
from visage.server.state import state_of

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
    status = state.load_state()
    if not request.scope.get("state", {}).get("authorized", True):  # without the token: the status only
        return JSONResponse({"status": status}, status_code=200 if status != "error" else 503)
    try:
        service_state = state.services.status()
    except Exception as exc:  # /health must answer even when a service cannot say how it is
        service_state = {"status": "error", "error": str(exc)}
    body = {"status": status, "version": __version__, "uptime_s": round(time.time() - state.started, 1),
            "sessions": state.peers.status(), "services": service_state,
            "load": {**_load_figures(), "event_loop_lag_ms": request.app.state.loop_lag.figures()},
            "network": {"loopback_only": getattr(request.app.state, "loopback_only", None)}, "versions": _versions()}
    if status == "error":
        body["error"] = "the models could not be loaded; the server's log says why"
    return JSONResponse(body, status_code=200 if status != "error" else 503)


@router.get("/api/options")
async def options(request: Request):
    state = state_of(request)
    return await asyncio.to_thread(_choices, state)


def voice_names(tts: str = DEFAULT_TTS) -> list[str]:
    """The names of the `tts` backend's voices, after "default" (each avatar's own voice, else the
    backend's default: config/speaker.py); empty when they cannot be listed."""
    from visage.backends.tts import create_tts

    with contextlib.suppress(Exception):
        return list(dict.fromkeys(["default", *create_tts(tts).voices()]))
    return []


def avatar_voices(state, avatars: list[str]) -> dict:
    """What each avatar speaks with in a conversation that chooses no voice: its stored voice and pitch,
    else the server's (--voice, --pitch) or the default, each with where it came from."""
    from visage.backends.renderers.avatar_store import AvatarStore
    from visage.config.speaker import resolve_speaker

    store, offered = AvatarStore(), [v for v in state.voices if v != "default"]
    voice, pitch = state.defaults.get("voice"), state.defaults.get("pitch")
    shown = {}
    for name in avatars:
        info = {}
        with contextlib.suppress(Exception):  # the built-in one before its first use, or an unreadable one
            info = store.info(name)
        with contextlib.suppress(Exception):
            speaker = resolve_speaker(info, voice, pitch, offered, f"the avatar {name!r}")
            shown[name] = speaker.listing(DEFAULT_VOICE if state.defaults.get("tts", DEFAULT_TTS) == "auto"
                                          else "default")
    return shown


def _choices(state) -> dict:
    """What the settings panel offers, by name; anything that cannot be listed is left out, not an error."""
    from visage.backends.renderers.avatar_store import AvatarStore

    avatars = ["default"]
    with contextlib.suppress(Exception):
        avatars += AvatarStore().list()
    limits = state.limits
    if not state.voices:
        state.voices = voice_names(state.defaults.get("tts", DEFAULT_TTS))
    return {**state.catalog.listing(), "voices": state.voices, "avatars": avatars,
            "avatar_voices": avatar_voices(state, avatars),
            "sizes": list(OFFERED_SIZES), "fps": list(LIVE_FPS), "defaults": state.shown_defaults(),
            "upload": {"max_bytes": uploads.MAX_PHOTO_BYTES, "types": sorted(uploads.IMAGE_TYPES.values())},
            "limits": {"text_chars": limits.max_text_chars, "say_chars": limits.max_say_chars}}


def process_figures() -> dict:
    """This process's CPU time and peak memory: with `--workers` each worker reports its own."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"process_cpu_s": round(usage.ru_utime + usage.ru_stime, 1), "max_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def _load_figures() -> dict:
    return {"loadavg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
            "cpus": os.cpu_count(), **process_figures()}


def _versions() -> dict:
    found = {"visage": __version__, "python": platform.python_version()}
    for package in ("aiortc", "fastapi", "uvicorn"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[package] = metadata.version(package)
    return found
