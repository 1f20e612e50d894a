"""Voices. `registry` names every TTS backend; `create_tts(name)` builds one."""
from __future__ import annotations

from visage.backends.registry import Registry
from visage.backends.tts.base import TTSBackend

registry: Registry[TTSBackend] = Registry("voice")

_PROVIDER_MODULES = ("espeak", "piper", "openai_speech", "gpt_sovits", "cosyvoice")


def _import_providers() -> None:
    """Provider modules register themselves on import; their heavy dependencies load in load()."""
    import importlib

    for name in _PROVIDER_MODULES:
        try:
            importlib.import_module(f"visage.backends.tts.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"visage.backends.tts.{name}":
                raise


def create_tts(name: str = "espeak", **options) -> TTSBackend:
    _import_providers()
    return registry.create(name, **options)


def tts_names() -> list[str]:
    _import_providers()
    return registry.names()
