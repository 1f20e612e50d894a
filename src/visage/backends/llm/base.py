"""The brain's interface: a conversation and the user's message in, tagged reply sentences out.

Every reply sentence carries the tags that drive the voice and the face (emotion, intensity, sentence
type, emphasised words). Sentences are yielded the moment they are complete in the model's output, and
setting `cancel` stops the model's stream at once (barge-in).
"""
from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field

from visage.core.types import Emotion, PitchStyle, SentenceTags, SpeechRequest, Tagged, carries_tags


@carries_tags
@dataclass(frozen=True)
class ReplySentence(Tagged):
    """One sentence of the avatar's reply: clean text for speech and subtitles, and its tags (the
    tag parser's value, handed on unchanged to the voice and the face)."""

    text: str
    tags: SentenceTags = field(default_factory=SentenceTags, kw_only=True)

    def to_request(self, voice: str | None = None, pitch: PitchStyle = PitchStyle.NORMAL) -> SpeechRequest:
        return SpeechRequest(self.text, voice, pitch, tags=self.tags)


@dataclass(frozen=True)
class ChatTurn:
    """One message in a conversation. `role` is "user" or "assistant"."""

    role: str
    text: str
    emotion: Emotion | None = None
    time: float = field(default_factory=time.time)


@dataclass
class Conversation:
    """What a brain knows of a session: who the avatar is, what was said, and a summary of older turns."""

    session_id: str
    persona: str = ""
    history: list[ChatTurn] = field(default_factory=list)
    summary: str = ""
    language: str = "en"


class Brain(ABC):
    """Decides what the avatar says. Subclasses load models in `load()`, never at import."""

    name: str = "brain"

    def load(self) -> None:
        """Load models or check the service; raise BackendError with a fix if impossible."""

    @abstractmethod
    def reply(
        self,
        conversation: Conversation,
        message: str,
        user_emotion: Emotion | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[ReplySentence]:
        """Stream the reply to `message`, sentence by sentence. Does not modify `conversation`: the
        caller appends the turns (so a cancelled reply is recorded as far as it was spoken)."""
