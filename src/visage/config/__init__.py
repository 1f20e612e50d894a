"""Settings and the builders that turn them into parts: one vocabulary for the CLI, the server and live.

This package sits between `visage.backends` and the layers that use it (`offline`, `live`, `server`,
`cli`): it may import `core` and `backends`, and only those outer layers import it
(tests/test_architecture.py).
"""
from visage.config.builders import build_brain, build_renderer, build_voice
from visage.config.settings import BrainSettings, VideoSettings, VoiceSettings

__all__ = ["BrainSettings", "VideoSettings", "VoiceSettings", "build_brain", "build_renderer", "build_voice"]
