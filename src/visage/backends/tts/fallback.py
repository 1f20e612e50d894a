"""Keep talking when a voice fails: a stand-in voice speaks the sentence instead.

A conversation should not go silent because a voice server was stopped or a model file moved, so a
sentence whose voice fails before producing any audio is spoken by a fallback (the embedded espeak
voice by default) and the failure is logged. Once audio has gone out, switching voices mid-sentence
would sound worse than an error, so failures after that point are raised.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace

from visage.backends.tts.base import TTSBackend
from visage.core.types import SpeechChunk, SpeechRequest

log = logging.getLogger(__name__)


class FallbackTTS(TTSBackend):
    """Speaks with `primary`; a sentence it cannot start is spoken by `fallback`."""

    def __init__(self, primary: TTSBackend, fallback: TTSBackend) -> None:
        self.primary, self.fallback = primary, fallback
        self.name = getattr(primary, "name", "tts")

    def load(self) -> None:
        self.fallback.load()
        try:
            self.primary.load()
        except Exception as exc:  # reported now, retried (and covered by the fallback) per sentence
            log.warning("voice %s could not load (%s); %s will speak until it can", self.name, exc, self.fallback.name)

    def languages(self) -> list[str]:
        return self.primary.languages()

    def voices(self, language: str | None = None) -> list[str]:
        return self.primary.voices(language)

    def stream(self, request: SpeechRequest) -> Iterator[SpeechChunk]:
        chunks = self.primary.stream(request)
        held: list[SpeechChunk] = []  # event-only chunks wait until audio proves the voice works
        try:
            for chunk in chunks:
                held.append(chunk)
                if len(chunk.samples):
                    break
            else:
                yield from held
                return
        except Exception as exc:
            log.warning(
                "voice %s failed before speaking (%s); speaking %r with %s instead",
                self.name, exc, request.text[:60], self.fallback.name,
            )
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
            # voice names belong to one backend, so the stand-in uses its own default voice
            yield from self.fallback.stream(replace(request, voice=None))
            return
        try:
            yield from held
            yield from chunks
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()


def with_fallback(backend: TTSBackend, fallback: TTSBackend | None = None) -> TTSBackend:
    """`backend`, backed by `fallback` (the embedded espeak voice when None) for sentences it fails."""
    from visage.backends.tts.espeak import EspeakTTS

    if fallback is None:
        if isinstance(backend, EspeakTTS):
            return backend  # the embedded voice is its own last resort
        fallback = EspeakTTS()
    return FallbackTTS(backend, fallback)
