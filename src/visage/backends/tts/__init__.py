"""Voices. `registry` names every TTS backend; `create_tts(name)` builds one."""
from __future__ import annotations

from visage.backends.registry import Registry
from visage.backends.tts.base import TTSBackend

registry: Registry[TTSBackend] = Registry(
    "voice", __name__, ("espeak", "piper", "openai_speech", "gpt_sovits", "cosyvoice")
)


def create_tts(name: str = "espeak", **options) -> TTSBackend:
    return registry.create(name, **options)


def tts_names() -> list[str]:
    return registry.names()
