"""The embedded voice: espeak speech (visage.backends.espeak.speech) registered as the "espeak" voice."""
from __future__ import annotations

from visage.backends.espeak.speech import LANGUAGE_ALIASES, VOICE_VARIANTS, EspeakSpeaker
from visage.backends.tts import registry
from visage.backends.tts.base import TTSBackend

__all__ = ["EspeakTTS", "LANGUAGE_ALIASES", "VOICE_VARIANTS"]


@registry.register("espeak")
class EspeakTTS(EspeakSpeaker, TTSBackend):
    """libespeak-ng as a voice: ~100 languages, offline, streaming, exact timings."""

    name = "espeak"
