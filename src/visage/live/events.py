"""What a live session tells its page, as typed events; `to_message()` is the JSON the page reads.

The page's protocol (static/app.js) is the messages' shape: {"type": "state" | "user" | "reply" |
"emotion" | "error" | "latency", ...}. The session makes these events and nothing else; the peer adds
the server's clock when it sends them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from visage.core.types import ConversationState, Emotion, SentenceType


@dataclass(frozen=True)
class LiveEvent:
    type: ClassVar[str]

    def to_message(self) -> dict:
        return {"type": self.type, **{k: _plain(v) for k, v in self.__dict__.items()}}


@dataclass(frozen=True)
class StateChanged(LiveEvent):
    """The avatar listens, thinks or speaks; `barge_in` when the user's voice stopped it speaking."""

    type: ClassVar[str] = "state"
    state: ConversationState
    barge_in: bool = False

    def to_message(self) -> dict:
        message = {"type": self.type, "state": self.state.value}
        return {**message, "barge_in": True} if self.barge_in else message


@dataclass(frozen=True)
class UserSaid(LiveEvent):
    """The user's words: `final` False while they speak (the words so far), True for the whole turn."""

    type: ClassVar[str] = "user"
    text: str
    final: bool


@dataclass(frozen=True)
class ReplySaid(LiveEvent):
    """A sentence of the avatar's answer, with its tags, as it begins to be spoken."""

    type: ClassVar[str] = "reply"
    text: str
    emotion: Emotion
    intensity: float
    sentence_type: SentenceType


@dataclass(frozen=True)
class EmotionShown(LiveEvent):
    type: ClassVar[str] = "emotion"
    emotion: Emotion


@dataclass(frozen=True)
class ErrorReported(LiveEvent):
    type: ClassVar[str] = "error"
    message: str


@dataclass(frozen=True)
class LatencyMeasured(LiveEvent):
    """Seconds per stage from the end of the user's speech (or the typed message) to the first sound
    sent, and the wall-clock anchors, so a client can split the rest (uplink, downlink, playout)."""

    type: ClassVar[str] = "latency"
    stages: dict[str, float] = field(default_factory=dict)
    at_speech_end: float = 0.0
    at_first_sound: float = 0.0

    def to_message(self) -> dict:
        return {"type": self.type, **self.stages, "at_speech_end": self.at_speech_end,
                "at_first_sound": self.at_first_sound}


def _plain(value):
    return value.value if isinstance(value, (Emotion, SentenceType, ConversationState)) else value
