"""visage: a real-time conversational digital human that runs on an ordinary CPU.

Layers point inward: `visage.core` (pure numpy data, emotion, text, audio) <- `visage.backends`
(voices, aligners, later ASR/LLM/renderers) <- `visage.offline` and `visage.live` <- `visage.server`
and `visage.cli`.
"""

__version__ = "0.1.0"
