"""Typed data that flows between visage's stages.

Every piece of speech data carries times in the audio's own clock (seconds from the start of the
stream it belongs to), so that voice, motion and video can be lined up without guessing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
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


def parse_emotion(value: object) -> Emotion:
    """Read an emotion tag leniently: names, common synonyms and case are accepted; anything else is
    neutral (tags are data from a model, not commands)."""
    if isinstance(value, Emotion):
        return value
    name = str(value or "").strip().lower()
    name = EMOTION_SYNONYMS.get(name, name)
    try:
        return Emotion(name)
    except ValueError:
        return Emotion.NEUTRAL


def clamp_intensity(value: object, default: float = 0.5) -> float:
    """Clamp an intensity into [0, 1]; non-numbers and NaN become `default`."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    if math.isnan(x):
        return default
    return min(1.0, max(0.0, x))


EMOTION_SYNONYMS = {
    "joy": "happy", "happiness": "happy", "glad": "happy", "excited": "happy",
    "sadness": "sad", "unhappy": "sad",
    "anger": "angry", "mad": "angry",
    "surprise": "surprised", "amazed": "surprised",
    "fear": "fearful", "afraid": "fearful", "scared": "fearful",
    "disgust": "disgusted",
    "calm": "neutral", "none": "neutral",
}


@dataclass(frozen=True)
class SentenceTags:
    """How a sentence is delivered: emotion, its intensity in [0, 1], sentence type, emphasised words
    and language, and the speaker's pace and loudness as multipliers on the emotion's (the user asked
    "slower please" or "louder": set by the brain for the rest of the session, honoured by every voice
    through `prosody_for`, clamped into [0.5, 2]). Tags come from models and users, so they are untrusted: they are made valid here,
    once, when the value is made (an unknown emotion is neutral, an intensity is clamped, NaN is the
    default), and every stage after this (brain, voice, motion track) carries the value unchanged."""

    emotion: Emotion = Emotion.NEUTRAL
    intensity: float = 0.5
    sentence_type: SentenceType = SentenceType.STATEMENT
    emphasis: tuple[str, ...] = ()
    language: str = "en"
    speech_rate: float = 1.0
    loudness: float = 1.0

    def __post_init__(self) -> None:
        def fix(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        fix("emotion", parse_emotion(self.emotion))
        fix("intensity", clamp_intensity(self.intensity))
        try:
            fix("sentence_type", SentenceType(self.sentence_type))
        except ValueError:
            fix("sentence_type", SentenceType.STATEMENT)
        words = (self.emphasis,) if isinstance(self.emphasis, str) else tuple(self.emphasis or ())
        fix("emphasis", tuple(w for w in (str(w) for w in words) if w.strip()))
        fix("language", str(self.language or "").strip() or "en")
        for name in ("speech_rate", "loudness"):
            fix(name, _clamp_scale(getattr(self, name)))


def _clamp_scale(value: object) -> float:
    """A delivery multiplier made valid: a number in [0.5, 2], 1 for anything else (NaN, text, None)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return 1.0
    return 1.0 if math.isnan(x) else min(2.0, max(0.5, x))


TAG_FIELDS = frozenset(f.name for f in fields(SentenceTags))


def carries_tags(cls):
    """For a dataclass with a keyword `tags: SentenceTags` field: its constructor (and `replace`) also
    take the tag fields by name, `SpeechRequest(text, emotion=Emotion.SAD)` meaning
    `SpeechRequest(text, tags=SentenceTags(emotion=Emotion.SAD))`, so call sites stay readable while the
    value itself is made (and validated) in one place. Read them back with the `Tagged` properties."""
    made_by_dataclass = cls.__init__

    def __init__(self, *args, tags: SentenceTags | None = None, **kwargs) -> None:
        named = {k: kwargs.pop(k) for k in TAG_FIELDS & kwargs.keys()}
        if named:
            tags = replace(tags or SentenceTags(), **named)
        made_by_dataclass(self, *args, tags=tags or SentenceTags(), **kwargs)

    __init__.__doc__ = made_by_dataclass.__doc__
    cls.__init__ = __init__
    return cls


class Tagged:
    """Read access to a `tags: SentenceTags` field as if its fields were the holder's own."""

    tags: SentenceTags

    @property
    def emotion(self) -> Emotion:
        return self.tags.emotion

    @property
    def intensity(self) -> float:
        return self.tags.intensity

    @property
    def sentence_type(self) -> SentenceType:
        return self.tags.sentence_type

    @property
    def emphasis(self) -> tuple[str, ...]:
        return self.tags.emphasis

    @property
    def language(self) -> str:
        return self.tags.language


@carries_tags
@dataclass(frozen=True)
class SpeechRequest(Tagged):
    """One sentence to be spoken: its text, its tags, and the speaker (voice, pitch register)."""

    text: str
    voice: str | None = None
    pitch: PitchStyle = PitchStyle.NORMAL
    tags: SentenceTags = field(default_factory=SentenceTags, kw_only=True)

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


@carries_tags
@dataclass(frozen=True)
class Sentence(Tagged):
    """A spoken sentence with its tags and its place on the audio clock. A stream announces it twice:
    when it starts (`end` is None: the tags are known, the length not yet) and when it has ended."""

    index: int
    text: str
    start: float
    end: float | None
    tags: SentenceTags = field(default_factory=SentenceTags, kw_only=True)


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
