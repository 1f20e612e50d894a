"""Adapters to the models visage runs: speech synthesis (tts), alignment (align), and later ASR, LLMs
and renderers. Each kind has a small base class and a registry; each provider has its own module and
imports its optional dependencies only when it is loaded."""
