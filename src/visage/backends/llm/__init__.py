"""Brains: what the avatar says and how it feels about it. `create_brain(name, **options)`."""
from __future__ import annotations

import importlib

from visage.backends.llm.base import Brain
from visage.backends.registry import Registry

registry: Registry[Brain] = Registry("brain")

_PROVIDER_MODULES = ("embedded", "openai_chat")


def create_brain(name: str = "embedded", **options) -> Brain:
    for module in _PROVIDER_MODULES:
        try:
            importlib.import_module(f"visage.backends.llm.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"visage.backends.llm.{module}":
                raise
    return registry.create(name, **options)
