"""What every live session of a server process shares: loaded models, the session store, avatars.

Loading is done once (MediaPipe, pocketsphinx, the voice's library, the knowledge base); per-session
state (VAD, ASR stream, motion engine, renderer buffers, conversation) lives in each LiveSession, so
one session's failure cannot reach another's.
"""
from __future__ import annotations

import logging
import os
import threading
import time

from visage import __version__
from visage.backends.llm.base import Brain
from visage.backends.llm.sessions import SessionStore
from visage.config.builders import build_brain, build_voice
from visage.config.speaker import Speaker, resolve_speaker
from visage.live.options import LiveOptions

log = logging.getLogger(__name__)


class LiveServices:
    def __init__(self, sessions: SessionStore | None = None, asr: str = "whisper",
                 asr_options: dict | None = None) -> None:
        """`asr` names the recogniser every session uses (a registry name) and `asr_options` its
        options (e.g. {"model": "/models/whisper-small"}): one model, loaded once, in its own process."""
        self.asr_name, self.asr_options = asr, dict(asr_options or {})
        self._lock = threading.Lock()
        self._brains: dict[tuple, Brain] = {}
        self._tts: dict[str, object] = {}
        self._avatars: dict[str | None, object] = {}
        self._asr = None
        self.sessions = sessions or SessionStore()
        self.active: set = set()
        self.started = time.time()
        self.loaded = False

    def load(self, asr: bool = True) -> None:
        """Load the default models up front, so the first user does not wait for them (the recogniser
        too unless `asr` is False: a front process whose workers hear for it)."""
        self.brain(LiveOptions())
        self.tts(LiveOptions())
        if asr:
            self.asr()
        self.avatar(None)
        self.loaded = True

    def brain(self, options: LiveOptions) -> Brain:
        """The brain these options ask for, built once per distinct brain settings and language."""
        settings = options.brain_settings()
        key = (*settings.model_dump().values(), options.language)
        with self._lock:
            if key not in self._brains:
                self._brains[key] = build_brain(settings, options.language)
            return self._brains[key]

    def tts(self, options: LiveOptions):
        """The voice these options ask for (backed by the embedded one), built and loaded once."""
        settings = options.voice_settings()
        with self._lock:
            if settings.tts not in self._tts:
                voice = build_voice(settings)
                voice.load()
                # every reply's audio is resampled to WebRTC's rate (core.audio.resample): scipy.signal
                # is imported now (0.6-0.7 s on this machine), not while the first reply waits for it
                import scipy.signal  # noqa: F401
                self._tts[settings.tts] = voice
            return self._tts[settings.tts]

    def asr(self):
        """The recogniser, in its own process: pocketsphinx holds the interpreter lock while it decodes
        (up to 0.11 s at a time) and Whisper takes every core for 0.1-0.3 s a turn, which in this
        process would stall the media of every session."""
        from visage.backends.asr.process import RecognizerProcess

        with self._lock:
            if self._asr is None:
                recognizer = RecognizerProcess(self.asr_name, **self.asr_options)
                recognizer.load()
                self._asr = recognizer
            return self._asr

    def close(self) -> None:
        """Stop what the services started (the recogniser's process)."""
        with self._lock:
            if self._asr is not None:
                self._asr.close()
                self._asr = None

    def avatar(self, name: str | None):
        from visage.backends.renderers.avatar_store import AvatarStore

        with self._lock:
            if name not in self._avatars:
                store = AvatarStore()
                self._avatars[name] = store.load(name) if name else store.default_avatar()
            return self._avatars[name]

    def speaker(self, options: LiveOptions) -> Speaker:
        """The voice and pitch a session with these options speaks with: the options' explicit choice,
        else the avatar's stored one, else the default (config/speaker.py). An explicit voice the
        session's voice does not offer is an InputError; a stored one is a warning in the Speaker."""
        avatar = self.avatar(options.avatar)
        return resolve_speaker(avatar.info, options.voice, options.pitch, self.tts(options).voices(options.language),
                               f"the avatar {options.avatar or 'default'!r}")

    def forget_avatar(self, name: str) -> None:
        with self._lock:
            self._avatars.pop(name, None)

    def status(self) -> dict:
        load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        return {"status": "ok", "version": __version__, "sessions": len(self.active), "loaded": self.loaded,
                "uptime_s": round(time.time() - self.started, 1), "cpu_load_1m": load1,
                "recogniser": self.asr_name,
                "recogniser_process": "running" if self._asr is not None and self._asr.running else "not running",
                "cpu_count": os.cpu_count()}
