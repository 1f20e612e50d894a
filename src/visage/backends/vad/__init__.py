"""Voice activity detectors. `registry` names every one; `create_vad(name)` builds one."""
from __future__ import annotations

from visage.backends.registry import Registry
from visage.backends.vad.base import VadEvent, VoiceActivityDetector

registry: Registry[VoiceActivityDetector] = Registry(
    "voice activity detector", __name__, ("webrtc", "silero")
)


__all__ = ["VadEvent", "VoiceActivityDetector", "create_vad", "registry", "vad_names"]


def create_vad(name: str = "webrtc", **options) -> VoiceActivityDetector:
    """`webrtc` (default, no model file) or `silero` (needs `model_path` to silero_vad.onnx)."""
    return registry.create(name, **options)


def vad_names() -> list[str]:
    return registry.names()
