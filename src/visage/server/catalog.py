"""What a page may choose: the brains, knowledge bases, styles, voices and languages the operator offers,
by name. A page never names a path, a URL or a key: `base_url`, `model` and `api_key` belong to the
brains the operator set up (flags or `--config`), knowledge bases and style files are named by the
operator too, and a page's choice outside the lists is refused with the list, never with anything read
from a file (no file-exists oracle).

    # visage.yaml (visage serve --config visage.yaml)
    brain: openai                  # the default conversation settings, by the page's names ...
    offer:                         # ... and what pages may choose among
      brains:
        local: {brain: openai, base_url: "http://127.0.0.1:11434/v1", model: qwen2.5}
        faq: {brain: embedded, knowledge: docs/faq.md}
      knowledge: {shop: kb/shop.md}
      styles: {house: styles/house.yaml}
      languages: [en, zh, de]
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from pydantic import BaseModel, ConfigDict, Field

from visage.config.settings import BRAINS, DEFAULT_LANGUAGE, DEFAULT_TTS, BrainSettings, Language
from visage.errors import InputError

LANGUAGES = {"en": "English", "zh": "中文"}  # the embedded brain and recogniser speak these two
SERVER_CHOSEN = ("base_url", "model", "api_key")  # never from a page
CONVERSATION_SECRET = secrets.token_bytes(32)  # per process: a restart ends the right to resume


class OfferSettings(BaseModel):
    """The `offer:` section of `visage serve --config`: named brains, knowledge bases and styles."""

    model_config = ConfigDict(extra="forbid")

    brains: dict[str, BrainSettings] = Field(default_factory=dict)
    knowledge: dict[str, str] = Field(default_factory=dict, description="name -> Markdown/YAML file or folder")
    styles: dict[str, str] = Field(default_factory=dict, description="name -> a style .yaml file")
    languages: list[Language] = Field(default_factory=list)
    tts: list[str] = Field(default_factory=list, description="voice backends pages may choose (espeak always)")


class Catalog:
    """The named choices of one server, and the translation of a page's choice into LiveOptions fields."""

    def __init__(self, defaults: dict, offer: OfferSettings | None = None) -> None:
        from visage.core.motion.style import style_names

        offer = offer or OfferSettings()
        base = {k: defaults[k] for k in BrainSettings.model_fields if k in defaults}
        self.brains: dict[str, dict] = {"embedded": {"brain": "embedded"}}
        if defaults.get("brain") == "openai" or "base_url" in defaults:
            self.brains["openai"] = {**base, "brain": "openai"}
        for name, settings in offer.brains.items():
            self.brains[name] = settings.model_dump(exclude_unset=True)
        self.knowledge = dict(offer.knowledge)
        self.styles = {**{n: n for n in style_names()}, **offer.styles}
        self.languages = {**LANGUAGES, **{c: c for c in offer.languages}}
        self.languages.setdefault(defaults.get("language", DEFAULT_LANGUAGE), defaults.get("language", DEFAULT_LANGUAGE))
        self.tts = sorted({DEFAULT_TTS, defaults.get("tts", DEFAULT_TTS), *offer.tts})

    def listing(self) -> dict:
        """The names GET /api/options shows (never a URL, a path or a key)."""
        return {"brains": list(self.brains), "knowledge": list(self.knowledge), "styles": list(self.styles),
                "languages": [{"code": c, "name": n} for c, n in self.languages.items()], "tts": self.tts,
                "brain_kinds": list(BRAINS)}

    def choose(self, data: dict, voices: list[str], avatars: list[str] | None = None) -> dict:
        """LiveOptions fields for a page's choices; InputError (HTTP 422) for anything not offered."""
        wrong = [k for k in SERVER_CHOSEN if data.get(k) not in (None, "")]
        if wrong:
            raise InputError(f"{', '.join(wrong)}: chosen by whoever runs the server, not by a page; "
                             f"choose a brain by name: {', '.join(self.brains)}")
        chosen = {k: v for k, v in data.items() if k not in SERVER_CHOSEN}
        if "brain" in chosen:
            chosen.update(self.brains[_pick("brain", chosen.pop("brain"), self.brains)])
        if "knowledge" in chosen:
            chosen["knowledge"] = self.knowledge[_pick("knowledge", chosen["knowledge"], self.knowledge)]
        if "style" in chosen:
            chosen["style"] = self.styles[_pick("style", chosen["style"], self.styles)]
        if "language" in chosen:
            _pick("language", chosen["language"], self.languages)
        if "tts" in chosen:
            _pick("tts", chosen["tts"], dict.fromkeys(self.tts))
        if "avatar" in chosen and avatars is not None and chosen["avatar"] != "default":
            _pick("avatar", chosen["avatar"], dict.fromkeys(avatars))
        if "voice" in chosen and voices:
            _pick("voice", chosen["voice"], dict.fromkeys(voices))
        return chosen


def _pick(what: str, value, offered: dict) -> str:
    if not isinstance(value, str) or value not in offered:
        names = ", ".join(map(str, offered)) or "none"
        raise InputError(f"{what}: not one this server offers; it offers: {names}")
    return value


def conversation_token(conversation_id: str) -> str:
    """The secret a page shows to continue its conversation (`session_id` + `session_token`)."""
    return hmac.new(CONVERSATION_SECRET, conversation_id.encode(), hashlib.sha256).hexdigest()[:32]


def may_resume(conversation_id, token) -> bool:
    return (isinstance(conversation_id, str) and isinstance(token, str)
            and hmac.compare_digest(conversation_token(conversation_id), token))
