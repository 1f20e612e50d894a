"""The default voice: the neural voice for English sentences, espeak for every other language.

Chosen per sentence, so a reply that mixes English and Chinese switches voice at each sentence (the
language is read from the sentence's script, the request's language being the default). A voice name
picks the neural voice (joe-female, joe) or an espeak variant (male1, female2...); a neural voice's
other languages are spoken by the espeak variant of the same gender. If the neural voice cannot be
loaded (its package missing or altered) a warning names the fix and espeak speaks everything.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import replace

from visage.backends.tts import registry
from visage.backends.tts.base import TTSBackend
from visage.backends.tts.catalogue import DEFAULT_VOICE, VOICES, voice_spec
from visage.backends.tts.espeak import VOICE_VARIANTS, EspeakTTS
from visage.core.text import has_han, is_chinese_language, language_of
from visage.core.types import SpeechChunk, SpeechRequest
from visage.errors import BackendError, InputError

log = logging.getLogger(__name__)

NEURAL_LANGUAGES = {"en", "en-us", "english"}  # what the neural voices speak (US English)
_LATIN = re.compile(r"[A-Za-z]")


def sentence_language(text: str, default: str) -> str:
    """The sentence's language from its script (core.text's rule for Chinese), and English for a
    sentence of Latin letters only in a Chinese reply; otherwise `default`."""
    default = default or "en"
    if language_of(text, "") == "zh":
        return default if is_chinese_language(default) else "zh"
    if is_chinese_language(default) and _LATIN.search(text) and not has_han(text):
        return "en"
    return default


def check_voice_name(name: str) -> str:
    """`name` if some voice of the auto voice has it (a neural voice or an espeak variant)."""
    if name and name not in VOICES and name.lower() not in VOICE_VARIANTS:
        choices = list(VOICES) + [v for v in VOICE_VARIANTS if v != "default"]
        raise InputError(f"unknown voice {name!r}; choose one of: {', '.join(choices)}")
    return name


@registry.register("auto")
class AutoTTS(TTSBackend):
    """Neural English, espeak elsewhere; options: `voice` (the default voice name)."""

    name = "auto"

    def __init__(self, voice: str | None = None, **unknown) -> None:
        if unknown:
            raise InputError(f"unknown option(s) for the auto voice: {', '.join(sorted(unknown))}; it takes: voice")
        self.voice = check_voice_name(voice) if voice else None
        self.espeak = EspeakTTS()
        self._neural = None
        self._neural_error: BackendError | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        self.espeak.load()
        self.neural()

    def neural(self):
        """The neural voice, or None (after one warning) when it cannot be loaded."""
        with self._lock:
            if self._neural is None and self._neural_error is None:
                from visage.backends.tts.neural import NeuralTTS

                tts = NeuralTTS(voice=self.voice if self.voice in VOICES else None)
                try:
                    tts.load()
                    self._neural = tts
                except BackendError as exc:
                    self._neural_error = exc
                    log.warning("the neural voice is unavailable, espeak speaks instead: %s", exc)
            return self._neural

    @property
    def neural_error(self) -> BackendError | None:
        return self._neural_error

    def languages(self) -> list[str]:
        return self.espeak.languages()

    def voices(self, language: str | None = None) -> list[str]:
        return list(VOICES) + [v for v in VOICE_VARIANTS if v != "default"]

    def route(self, request: SpeechRequest) -> tuple[TTSBackend, SpeechRequest]:
        """The voice that speaks this sentence, and the request as that voice should get it."""
        language = sentence_language(request.text, request.language)
        name = request.voice if request.voice and request.voice != "default" else self.voice
        neural_name = name if name in VOICES else (None if name else DEFAULT_VOICE)
        if language.strip().lower().replace("_", "-") in NEURAL_LANGUAGES and neural_name:
            neural = self.neural()
            if neural is not None:
                return neural, replace(request, language="en", voice=neural_name)
        espeak_voice = voice_spec(neural_name).espeak_voice if neural_name else name
        return self.espeak, replace(request, language=language, voice=espeak_voice)

    def stream(self, request: SpeechRequest) -> Iterator[SpeechChunk]:
        backend, routed = self.route(request)
        yield from backend.stream(routed)
