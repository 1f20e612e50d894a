"""Voices. `registry` names every TTS backend; `create_tts(name)` builds one, with its aligner."""
from __future__ import annotations

from visage.backends.registry import Registry
from visage.backends.tts.base import TTSBackend, UntimedTTSBackend

registry: Registry[TTSBackend] = Registry(
    "voice", __name__, ("espeak", "neural", "auto", "piper", "openai_speech", "gpt_sovits", "cosyvoice")
)


def create_tts(name: str = "espeak", **options) -> TTSBackend:
    """Build a registered voice. A voice that returns bare audio gets its timings from the aligner given
    as the `aligner` option, or else the default one (pocketsphinx for English when installed, DTW)."""
    tts = registry.create(name, **options)
    if isinstance(tts, UntimedTTSBackend) and tts.aligner is None:
        from visage.backends.align import default_aligner

        tts.aligner = default_aligner()
    return tts


def tts_names() -> list[str]:
    return registry.names()
