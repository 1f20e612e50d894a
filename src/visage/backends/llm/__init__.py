"""Brains: what the avatar says and how it feels about it. `create_brain(name, **options)`."""
from __future__ import annotations

from visage.backends.llm.base import Brain
from visage.backends.registry import Registry

registry: Registry[Brain] = Registry("brain", __name__, ("embedded", "openai_chat"))


def create_brain(name: str = "embedded", **options) -> Brain:
    return registry.create(name, **options)
