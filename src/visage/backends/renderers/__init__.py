"""Renderers: face frames to images. `create_renderer(name, **options)` builds a registered one."""
from __future__ import annotations

import importlib

from visage.backends.registry import Registry
from visage.backends.renderers.base import Renderer

registry: Registry[Renderer] = Registry("renderer")

_PROVIDER_MODULES = ("portrait",)


def create_renderer(name: str = "portrait", **options) -> Renderer:
    for module in _PROVIDER_MODULES:
        importlib.import_module(f"visage.backends.renderers.{module}")
    return registry.create(name, **options)
