"""Renderers: face frames to images. `create_renderer(name, **options)` builds a registered one."""
from __future__ import annotations

from visage.backends.registry import Registry
from visage.backends.renderers.base import Renderer

registry: Registry[Renderer] = Registry("renderer", __name__, ("portrait", "video_avatar"))


def renderer_for(avatar) -> str:
    """The renderer that draws `avatar`: "video" for one made from a recording, else "portrait"."""
    return "video" if avatar is not None and avatar.info.get("kind") == "video" else "portrait"


def create_renderer(name: str = "portrait", **options) -> Renderer:
    return registry.create(name, **options)
