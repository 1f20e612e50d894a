"""Settings of a live conversation (configuration, so pydantic: validated when a page sends them)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LiveOptions(BaseModel):
    """What one browser session asks for; every field has a working offline default."""

    model_config = ConfigDict(extra="ignore")

    brain: str = Field("embedded", description="embedded (offline) or openai (any OpenAI-compatible server)")
    base_url: str | None = Field(None, description="the OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1")
    model: str | None = Field(None, description="the model name on that server")
    api_key: str | None = None
    knowledge: str | None = Field(None, description="a knowledge-base file for the embedded brain")
    persona: str = Field("", max_length=4000, description="who the avatar is, for the brain")
    language: str = Field("en", max_length=16)
    tts: str = "espeak"
    voice: str | None = None
    style: str = "friendly"
    avatar: str | None = Field(None, description="a saved avatar's name; None: the default portrait")
    size: int = Field(512, ge=256, le=1024)
    fps: int = Field(25, description="25, 30 or 60")
    emotion_auto: bool = Field(True, description="tag untagged reply sentences with the classifier")
    vad_silence: float = Field(0.4, ge=0.2, le=2.0, description="seconds of silence that end the user's turn")
    unfinished_hold: float = Field(0.5, ge=0.0, le=3.0, description="seconds more to wait when the user's words "
                                   "stop on 'and', 'the', 'um'... (0: never wait)")
    session_id: str | None = Field(None, description="continue a saved conversation")
