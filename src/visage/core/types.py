"""Typed data that flows between visage's stages.

Every piece of speech data carries times in the audio's own clock (seconds from the start of the
stream it belongs to), so that voice, motion and video can be lined up without guessing.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

import numpy as np


class Emotion(str, Enum):
    """The seven basic emotions visage expresses (the EMOVA label set, see animation-facts.md)."""

    NEUTRAL = "neutral"
    HAPPY = "happy"
    SAD = "sad"
    ANGRY = "angry"
    SURPRISED = "surprised"
    FEARFUL = "fearful"
    DISGUSTED = "disgusted"


class SentenceType(str, Enum):
    STATEMENT = "statement"
    QUESTION = "question"
    EXCLAMATION = "exclamation"


class PitchStyle(str, Enum):
    """A speaker-level pitch register (EMOVA's low/normal/high), independent of emotion."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


@dataclass(frozen=True)
class SpeechRequest:
    """One sentence to be spoken, with the tags that shape its delivery."""

    text: str
    language: str = "en"
    voice: str | None = None
    emotion: Emotion = Emotion.NEUTRAL
    intensity: float = 0.5
    emphasis: tuple[str, ...] = ()
    pitch: PitchStyle = PitchStyle.NORMAL
    sentence_type: SentenceType = SentenceType.STATEMENT

    def with_text(self, text: str) -> "SpeechRequest":
        return replace(self, text=text)


@dataclass(frozen=True)
class Phoneme:
    """A phone as the voice produced it: `symbol` is an espeak phoneme mnemonic without stress marks
    (every voice and aligner speaks that alphabet; "_" is a pause), times in
    seconds, `stressed` when it carries the word's primary stress. `word` is the character offset in
    its sentence of the word it belongs to (-1 in pauses) and `emphasised` marks an emphasised word's
    phones: both arrive with the phone itself, before the word is complete, so the face can act on
    emphasis while the word is still being said."""

    symbol: str
    start: float
    end: float
    stressed: bool = False
    word: int = -1
    emphasised: bool = False

    def shifted(self, offset: float) -> "Phoneme":
        return replace(self, start=self.start + offset, end=self.end + offset)


@dataclass(frozen=True)
class Word:
    """A spoken word: its text, its span [char_start, char_end) in the sentence text, and its times."""

    text: str
    char_start: int
    char_end: int
    start: float
    end: float
    emphasised: bool = False
    sentence: int = 0

    def shifted(self, offset: float) -> "Word":
        return replace(self, start=self.start + offset, end=self.end + offset)


@dataclass(frozen=True)
class Sentence:
    """A spoken sentence with its tags and its place on the audio clock. A stream announces it twice:
    when it starts (`end` is None: the tags are known, the length not yet) and when it has ended."""

    index: int
    text: str
    start: float
    end: float | None
    language: str = "en"
    emotion: Emotion = Emotion.NEUTRAL
    intensity: float = 0.5
    sentence_type: SentenceType = SentenceType.STATEMENT
    emphasis: tuple[str, ...] = ()


@dataclass(frozen=True)
class SpeechChunk:
    """A piece of a voice's output stream.

    `samples` is mono float32 in [-1, 1] starting at `start` seconds; `phonemes` and `words` are the
    events completed by the end of this chunk. A chunk may carry events and no samples.
    """

    samples: np.ndarray
    sample_rate: int
    start: float
    phonemes: tuple[Phoneme, ...] = ()
    words: tuple[Word, ...] = ()

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def end(self) -> float:
        return self.start + self.duration

    def shifted(self, offset: float) -> "SpeechChunk":
        return replace(
            self,
            start=self.start + offset,
            phonemes=tuple(p.shifted(offset) for p in self.phonemes),
            words=tuple(w.shifted(offset) for w in self.words),
        )


@dataclass(frozen=True)
class Alignment:
    """Phoneme and word timings derived from audio and its text (for voices that give none)."""

    phonemes: tuple[Phoneme, ...]
    words: tuple[Word, ...]


class ConversationState(str, Enum):
    """What the avatar is doing in the conversation: it shapes face and head between replies."""

    IDLE = "idle"
    LISTENING = "listening"
    THINKING = "thinking"
    SPEAKING = "speaking"


@dataclass(frozen=True)
class HeadPose:
    """Head rotation in degrees (pitch + nods down, yaw + turns to the avatar's left, roll + tilts to
    its left) and a small translation in metres (x right, y up, z towards the viewer)."""

    pitch: float = 0.0
    yaw: float = 0.0
    roll: float = 0.0
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0


@dataclass(frozen=True)
class Gaze:
    """Eye direction in degrees relative to the head (yaw + to the avatar's left, pitch + up)."""

    yaw: float = 0.0
    pitch: float = 0.0


@dataclass(frozen=True)
class FaceFrame:
    """One frame of motion at time `t` on the audio clock: 52 ARKit weights in [0, 1] (Live Link
    order, see visage.core.arkit), head pose and gaze."""

    t: float
    blendshapes: np.ndarray
    head: HeadPose
    gaze: Gaze
