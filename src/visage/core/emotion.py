"""Emotion tags: strict reading of a person's choice, and what each emotion does to the voice.

Tags from models are made valid once, where the `SentenceTags` value is made (visage.core.types): an
unknown emotion becomes neutral and an intensity is clamped into [0, 1], never an error mid-reply.
"""
from __future__ import annotations

from dataclasses import dataclass

from visage.core.types import EMOTION_SYNONYMS, Emotion, PitchStyle, SentenceTags, SentenceType


def parse_emotion_strict(value: str) -> Emotion:
    """Read an emotion given by a person (CLI, API): unknown names are an error listing the choices."""
    name = value.strip().lower()
    name = EMOTION_SYNONYMS.get(name, name)
    try:
        return Emotion(name)
    except ValueError:
        choices = ", ".join(e.value for e in Emotion)
        raise ValueError(f"unknown emotion {value!r}; choose one of: {choices}") from None


@dataclass(frozen=True)
class Prosody:
    """Multipliers on a voice's neutral delivery: speaking rate, base pitch, pitch range, loudness."""

    rate: float = 1.0
    pitch: float = 1.0
    pitch_range: float = 1.0
    volume: float = 1.0


# Full-intensity prosody per emotion. Directions follow the vocal-affect literature summarised by
# Scherer (1986) and Juslin & Laukka (2003): joy is faster and higher with a wider range; sadness slower,
# lower, narrower and softer; anger louder and tense with a wide range; surprise high and wide; fear
# fast and high with a narrow, unsteady range; disgust slow and low. Magnitudes were tuned by ear and
# are checked on the audio by tests/test_prosody.py.
_PROSODY_AT_FULL_INTENSITY: dict[Emotion, Prosody] = {
    Emotion.NEUTRAL: Prosody(),
    Emotion.HAPPY: Prosody(rate=1.15, pitch=1.25, pitch_range=1.5, volume=1.1),
    Emotion.SAD: Prosody(rate=0.78, pitch=0.8, pitch_range=0.55, volume=0.7),
    Emotion.ANGRY: Prosody(rate=1.08, pitch=1.05, pitch_range=1.35, volume=1.45),
    Emotion.SURPRISED: Prosody(rate=1.05, pitch=1.4, pitch_range=1.7, volume=1.15),
    Emotion.FEARFUL: Prosody(rate=1.2, pitch=1.3, pitch_range=0.75, volume=0.9),
    Emotion.DISGUSTED: Prosody(rate=0.85, pitch=0.88, pitch_range=0.9, volume=1.0),
}

_PITCH_STYLE_FACTOR = {PitchStyle.LOW: 0.85, PitchStyle.NORMAL: 1.0, PitchStyle.HIGH: 1.18}


def prosody_for(tags: SentenceTags, pitch_style: PitchStyle = PitchStyle.NORMAL) -> Prosody:
    """The delivery of a sentence: the emotion's prosody scaled by intensity (0 is neutral, 1 the full
    preset), on the speaker's pitch register; exclamations get a little more energy; the session's
    pace and loudness (tags.speech_rate, tags.loudness: "slower please") multiply rate and volume."""
    target = _PROSODY_AT_FULL_INTENSITY[tags.emotion]
    k = tags.intensity

    def lerp(full: float) -> float:
        return 1.0 + (full - 1.0) * k

    volume = lerp(target.volume) * tags.loudness
    pitch_range = lerp(target.pitch_range)
    if tags.sentence_type == SentenceType.EXCLAMATION:
        volume *= 1.08
        pitch_range *= 1.15
    return Prosody(
        rate=lerp(target.rate) * tags.speech_rate,
        pitch=lerp(target.pitch) * _PITCH_STYLE_FACTOR[pitch_style],
        pitch_range=pitch_range,
        volume=volume,
    )
