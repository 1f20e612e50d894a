"""Every setting's rule, stated once: what fps, size, voice, brain, knowledge base, style and language
may be, and their defaults. The CLI's flags, the server's defaults and each page's `LiveOptions` are
all validated by these types, so a value refused in one place is refused everywhere, with one message.

Configuration, so pydantic. Values may come from flags, a page's JSON, environment variables (the
brain's server and model, read when a setting is made) or a YAML file (`load_settings`).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from visage.backends.llm.openai_chat import DEFAULT_BASE_URL, DEFAULT_MODEL
from visage.backends.renderers.base import DEFAULT_SIZE, SIZES  # the renderers' range, the settings' rule
from visage.backends.tts import tts_names
from visage.core.motion.engine import ALLOWED_FPS
from visage.core.motion.style import load_style
from visage.errors import InputError

DEFAULT_FPS = 25
LIVE_FPS = tuple(f for f in ALLOWED_FPS if f <= 30)  # live video is rendered in real time: 60 is too many
OFFERED_SIZES = (256, 384, 512, 768)  # what the page's settings panel offers (any valid size is accepted)
DEFAULT_STYLE = "friendly"
DEFAULT_LANGUAGE = "en"
DEFAULT_TTS = "auto"  # the neural voice for English, espeak for every other language
DEFAULT_FALLBACK = "espeak"  # embedded: always there, so it is the voice that keeps speaking
BRAINS = ("embedded", "openai")
NO_FALLBACK = "none"


def _fps(value: int) -> int:
    if value not in ALLOWED_FPS:
        raise ValueError(f"frames per second must be one of {', '.join(map(str, ALLOWED_FPS))}, not {value}")
    return value


def _live_fps(value: int) -> int:
    if value not in LIVE_FPS:
        raise ValueError(f"live video runs at {' or '.join(map(str, LIVE_FPS))} frames per second, not {value}")
    return value


def _size(value: int) -> int:
    """Even (H.264's 4:2:0 needs it) and within the renderers' range."""
    if not SIZES[0] <= value <= SIZES[1] or value % 2:
        raise ValueError(f"the video size must be an even number of pixels from {SIZES[0]} to {SIZES[1]}, not {value}")
    return value


def _style(value: str) -> str:
    load_style(value)  # a built-in name or a .yaml file; its InputError names the choices
    return value


def _tts(value: str) -> str:
    if value not in tts_names():
        raise ValueError(f"unknown voice backend {value!r}; choose one of: {', '.join(tts_names())}")
    return value


def _fallback(value: str) -> str:
    return NO_FALLBACK if value.lower() == NO_FALLBACK else _tts(value)


Fps = Annotated[int, AfterValidator(_fps)]
LiveFps = Annotated[int, AfterValidator(_live_fps)]
VideoSize = Annotated[int, AfterValidator(_size)]
StyleName = Annotated[str, AfterValidator(_style)]
VoiceBackend = Annotated[str, AfterValidator(_tts)]
FallbackVoice = Annotated[str, AfterValidator(_fallback)]
Language = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$",
                                description="a language code: en, zh, or any espeak code (en-us, cmn...)")]
BrainKind = Literal["embedded", "openai"]


def _env(*names: str, default: str) -> str:
    return next((os.environ[n] for n in names if os.environ.get(n)), default)


class VoiceSettings(BaseModel):
    """Which voice speaks, and what keeps speaking when it fails."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tts: VoiceBackend = Field(DEFAULT_TTS, description="voice backend: auto (neural English, espeak elsewhere), "
                                                       "neural, espeak, piper, openai, ...")
    tts_options: dict[str, str] = Field(default_factory=dict, description="the backend's own options")
    fallback: FallbackVoice = Field(DEFAULT_FALLBACK, description="voice used when `tts` fails; 'none' to fail")
    voice: str | None = Field(None, description="voice name: joe-female (default), joe, or an espeak variant "
                                                "male1..male4, female1..female4")
    language: Language = DEFAULT_LANGUAGE


class BrainSettings(BaseModel):
    """Which brain answers: the embedded one (offline, from a knowledge base) or an OpenAI-compatible
    server. The server and model default to $OPENAI_BASE_URL and $VISAGE_MODEL (or $OPENAI_MODEL)."""

    model_config = ConfigDict(extra="forbid")

    brain: BrainKind = Field("embedded", description="embedded (offline) or openai (any OpenAI-compatible server)")
    base_url: str = Field(default_factory=lambda: _env("OPENAI_BASE_URL", default=DEFAULT_BASE_URL),
                          description="the OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1")
    model: str = Field(default_factory=lambda: _env("VISAGE_MODEL", "OPENAI_MODEL", default=DEFAULT_MODEL),
                       description="the model name on that server")
    api_key: str | None = Field(None, description="its API key (default: $OPENAI_API_KEY); never sent to pages")
    knowledge: str | None = Field(None, description="knowledge base (Markdown or YAML FAQ) for the embedded brain, "
                                                    "or extra context for the openai brain")


class VideoSettings(BaseModel):
    """How a video looks: its portrait, size, frame rate and the motion style."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    size: VideoSize = DEFAULT_SIZE
    fps: Fps = DEFAULT_FPS
    style: StyleName = DEFAULT_STYLE
    seed: int = Field(0, description="seed for blinks, gaze and idle motion (deterministic)")
    avatar: str | None = Field(None, description="a saved avatar's name; None: the built-in portrait")
    portrait: str | None = Field(None, description="a photo of a face, analysed on the fly")


def check(rule, value):
    """`value` by one rule (one of the types above), e.g. check(VideoSize, "300"): an InputError if not."""
    try:
        return TypeAdapter(rule).validate_python(value)
    except ValidationError as exc:
        raise InputError("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())) from None


def describe(exc: ValidationError, names: dict[str, str] | None = None) -> str:
    """A settings error with each field named ("size: the video size must be..."), `names` renaming
    fields into the caller's words (a flag)."""
    names = names or {}
    parts = []
    for e in exc.errors():
        field = ".".join(map(str, e["loc"]))
        parts.append(f"{names.get(field, field)}: {e['msg'].removeprefix('Value error, ')}" if field else e["msg"])
    return "; ".join(parts)


Model = TypeVar("Model", bound=BaseModel)


def load_settings(model: type[Model], path: str | Path, section: str | None = None, skip: tuple[str, ...] = (),
                  **overrides) -> Model:
    """Settings from a YAML file (optionally one `section` of it, leaving out the `skip` sections), with
    `overrides` laid over them."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read the settings file {path}: {exc}") from None
    if section is not None:
        data = data.get(section) or {}
    if not isinstance(data, dict):
        raise InputError(f"the settings file {path} must hold a mapping of setting names to values")
    data = {k: v for k, v in data.items() if k not in skip}
    unknown = sorted(set(data) - set(model.model_fields))
    if unknown:  # a misspelt setting would otherwise be dropped without a word
        raise InputError(f"unknown setting(s) in {path}: {', '.join(map(str, unknown))}; known: "
                         f"{', '.join(model.model_fields)}")
    try:
        return model(**{**data, **{k: v for k, v in overrides.items() if v is not None}})
    except ValidationError as exc:
        raise InputError(f"invalid setting in {path}: {describe(exc)}") from None
