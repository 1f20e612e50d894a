"""Voice activity detectors. `registry` names every one; `create_vad(name)` builds one."""
from __future__ import annotations

from visage.backends.registry import Registry
from visage.backends.vad.base import VadEvent, VoiceActivityDetector

registry: Registry[VoiceActivityDetector] = Registry("voice activity detector")

_PROVIDER_MODULES = ("webrtc", "silero")

__all__ = ["VadEvent", "VoiceActivityDetector", "create_vad", "registry", "vad_names"]


def _import_providers() -> None:
    """Provider modules register themselves on import; their heavy dependencies load in load()."""
    import importlib

    for name in _PROVIDER_MODULES:
        try:
            importlib.import_module(f"visage.backends.vad.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"visage.backends.vad.{name}":
                raise


def create_vad(name: str = "webrtc", **options) -> VoiceActivityDetector:
    """`webrtc` (default, no model file) or `silero` (needs `model_path` to silero_vad.onnx)."""
    _import_providers()
    return registry.create(name, **options)


def vad_names() -> list[str]:
    _import_providers()
    return registry.names()
