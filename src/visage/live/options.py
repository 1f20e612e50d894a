"""Settings of a live conversation: what one page asks for, validated when it sends them.

The rules (fps, size, voice, brain, style, language) are visage.config's, the same the CLI applies;
only what is particular to a conversation (persona, turn-taking, the saved session) is stated here.
A page chooses the voice backend, not its options: a page must not point the server at a URL.
"""
from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from visage.config.settings import (DEFAULT_FPS, DEFAULT_LANGUAGE, DEFAULT_SIZE, DEFAULT_STYLE, DEFAULT_TTS,
                                    BrainSettings, Language, LiveFps, StyleName, VideoSize, VoiceBackend,
                                    VoiceSettings)
from visage.core.types import PitchStyle


class LiveOptions(BrainSettings):
    """What one browser session asks for; every field has a working offline default."""

    model_config = ConfigDict(extra="ignore")  # a newer page's settings do not break an older server

    persona: str = Field("", max_length=4000, description="who the avatar is, for the brain")
    language: Language = DEFAULT_LANGUAGE
    tts: VoiceBackend = DEFAULT_TTS
    voice: str | None = Field(None, description="a voice name; None or 'default': the avatar's stored voice, "
                                                 "else the default voice (visage.config.speaker)")
    pitch: PitchStyle | None = Field(None, description="low, normal or high; None: the avatar's stored pitch, "
                                                      "else normal")
    style: StyleName = DEFAULT_STYLE
    avatar: str | None = Field(None, description="a saved avatar's name; None: the default portrait")
    size: VideoSize = DEFAULT_SIZE
    fps: LiveFps = DEFAULT_FPS
    emotion_auto: bool = Field(True, description="tag untagged reply sentences with the classifier")
    vad_silence: float = Field(0.4, ge=0.2, le=2.0, description="seconds of silence that end the user's turn")
    unfinished_hold: float = Field(0.5, ge=0.0, le=3.0, description="seconds more to wait when the user's words "
                                   "stop on 'and', 'the', 'um'... (0: never wait)")
    prepare_reply: bool = Field(True, description="prepare the reply (the brain and the voice's first words) "
                                "in the last part of the silence that ends the user's turn, said only if the "
                                "turn ends with the same words (off: nothing is asked of the brain before)")
    session_id: str | None = Field(None, description="continue a saved conversation")
    drawing: Literal["server", "browser"] = Field(
        "server", description="who draws the face: the server (video, for clients that cannot draw) or the "
                              "browser (the server sends only audio and motion frames: many more sessions)")

    def voice_settings(self) -> VoiceSettings:
        voice = None if self.voice == "default" else self.voice  # "default": the avatar's own (speaker.py)
        return VoiceSettings(tts=self.tts, voice=voice, language=self.language)

    def brain_settings(self) -> BrainSettings:
        return BrainSettings(**self.model_dump(include=set(BrainSettings.model_fields)))
