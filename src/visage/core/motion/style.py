"""Motion styles: named presets (data files in visage/data/styles) that scale how much the face moves.

A style is configuration, so it is a pydantic model: values are validated when the file is read.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from visage.errors import InputError


class MotionStyle(BaseModel):
    """How lively the face is. 1.0 is the neutral reference for every gain."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "friendly"
    description: str = ""
    head_amplitude: float = Field(1.0, ge=0, le=3, description="gain on all head motion")
    nod_strength: float = Field(1.0, ge=0, le=3, description="gain on nods at emphasis")
    nod_rate: float = Field(1.0, ge=0, le=1, description="share of emphasised words that get a nod")
    brow_amplitude: float = Field(1.0, ge=0, le=3, description="gain on brow raises (emphasis, questions)")
    expression_gain: float = Field(1.0, ge=0, le=2, description="gain on emotional expressions")
    smile_baseline: float = Field(0.0, ge=0, le=0.5, description="resting smile weight")
    blink_rate: float = Field(26.0, ge=2, le=60, description="blinks per minute in conversation (animation-facts: ~26)")
    gaze_aversion: float = Field(1.0, ge=0, le=3, description="gain on looking away (turn starts, thinking)")
    idle_amplitude: float = Field(1.0, ge=0, le=3, description="gain on breathing and idle sway")
    mouth_gain: float = Field(1.0, ge=0.3, le=2, description="gain on lip and jaw opening")
    shake_means_yes: bool = Field(False, description="regions where a sideways head motion signals agreement")
    max_yaw: float = Field(15.0, gt=0, le=45, description="head yaw limit, degrees")
    max_pitch: float = Field(10.0, gt=0, le=30, description="head pitch limit, degrees")
    max_roll: float = Field(8.0, gt=0, le=30, description="head roll limit, degrees")


def style_names() -> list[str]:
    folder = resources.files("visage") / "data" / "styles"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


@lru_cache(maxsize=32)
def load_style(name_or_path: str = "friendly") -> MotionStyle:
    """A built-in style by name, or a YAML file by path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:  # a folder, unreadable, or not text
            raise InputError(f"cannot read the style file {name_or_path!r}: {exc}") from None
    else:
        resource = resources.files("visage") / "data" / "styles" / f"{name_or_path}.yaml"
        if not resource.is_file():
            raise InputError(f"unknown style {name_or_path!r}; choose one of: {', '.join(style_names())} "
                             f"or give a .yaml file")
        text = resource.read_text(encoding="utf-8")
    try:
        return MotionStyle(**(yaml.safe_load(text) or {}))
    except Exception as exc:  # pydantic's message lists each bad field
        raise InputError(f"style {name_or_path!r} is invalid: {exc}") from None
