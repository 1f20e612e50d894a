"""Speech to mouth: coarticulated visemes with bilabial closure, pause handling and jaw/lip gains.

The shape at time t is a dominance-weighted average of the targets of the phonemes around t
(Cohen & Massaro 1993, animation-facts.md): each phoneme's influence rises before it (anticipation,
up to ~200 ms for vowels) and decays after it, so rounding spreads ahead while short consonants blend.
Bilabials (p, b, m) then override that average with a hard closure that starts 40-120 ms before the
consonant and holds through its midpoint, which averaging alone cannot guarantee. Pauses hold the
shape (< 120 ms), relax (120-350 ms) or return to rest (longer). Jaw and lip gains follow loudness and
emphasis (JALI: louder and stressed speech opens the jaw more).
"""
from __future__ import annotations

import math

import numpy as np

from visage.core.arkit import INDEX, N_BLENDSHAPES
from visage.core.motion.models import LipModel
from visage.core.motion.style import MotionStyle
from visage.core.motion.track import SpeechTrack
from visage.core.motion.visemes import BILABIAL, VISEME_SHAPES, viseme_of
from visage.core.types import Emotion, Phoneme
from visage.core.motion.easing import smoothstep

LOOK_BEHIND = 0.3
LOOK_AHEAD = 0.2  # the engine guarantees the track reaches t + 0.2 s

# Dominance: strength and decay rate (1/s) before (anticipation) and after (carry-over) a phoneme's
# centre. Vowels and rounding reach far ahead; consonants are local. Tuned against the closure, rest
# and sync measures in tests/test_motion_lips.py.
_DOMINANCE = {
    "vowel": (1.0, 14.0, 18.0),
    "round": (1.0, 9.0, 16.0),
    "consonant": (0.8, 30.0, 30.0),
    "bilabial": (1.5, 40.0, 40.0),
    "labiodental": (1.2, 30.0, 30.0),
}
_VOWELS = {"aa", "E", "I", "O"}
_ROUND = {"U", "RR", "CH"}

# Pauses (animation-facts.md: under ~120 ms hold, 120-350 ms relax, longer close to rest).
_HOLD_PAUSE, _REST_PAUSE = 0.12, 0.35
# Bilabial closure lead: lips close 40-120 ms before p/b/m (animation-facts.md); we use 70 ms,
# shortened when the previous phoneme is short so that it keeps some visible shape.
_CLOSURE_LEAD = 0.07
_CLOSURE_RELEASE = 0.03

_JAW = INDEX["jawOpen"]
_LIP_OPEN = [INDEX[n] for n in ("mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight")]
_EMOTION_JAW_GAIN = {Emotion.SAD: 0.8, Emotion.HAPPY: 1.08, Emotion.ANGRY: 1.12, Emotion.SURPRISED: 1.1,
                     Emotion.FEARFUL: 0.95, Emotion.DISGUSTED: 0.9}


def _kind(viseme: str) -> str:
    if viseme in _VOWELS:
        return "vowel"
    if viseme in _ROUND:
        return "round"
    if viseme == BILABIAL:
        return "bilabial"
    if viseme == "FF":
        return "labiodental"
    return "consonant"


_ROW = {v: i for i, v in enumerate(VISEME_SHAPES)}
_SHAPE_MATRIX = np.array(list(VISEME_SHAPES.values()), np.float32)  # one row per viseme, in _ROW order
_KIND = {v: _kind(v) for v in VISEME_SHAPES}


class CoarticulatedLips(LipModel):
    """The default lip model: rules from the lip-sync literature, no weights."""

    def __init__(self, style: MotionStyle) -> None:
        self.style = style

    def weights(self, t: float, track: SpeechTrack) -> np.ndarray:
        phonemes = track.phonemes_between(t - LOOK_BEHIND, t + LOOK_AHEAD)
        if not phonemes:
            return np.zeros(N_BLENDSHAPES, np.float32)
        weight_sum = 0.0
        closure = 0.0
        dominance, rows = [], []
        for i, p in enumerate(phonemes):
            viseme = viseme_of(p.symbol)
            if viseme == "sil":
                strength, rise, fall = self._pause_dominance(_silence_length(phonemes, i))
            else:
                strength, rise, fall = _DOMINANCE[_KIND[viseme]]
            centre = 0.5 * (p.start + p.end)
            half = 0.5 * (p.end - p.start)
            # flat top over the phoneme's own span, exponential flanks outside it
            distance = max(0.0, abs(t - centre) - half)
            rate = rise if t < centre else fall
            d = strength * math.exp(-rate * distance)
            dominance.append(d)
            rows.append(_ROW[viseme])
            weight_sum += d
            if viseme == BILABIAL:
                previous = phonemes[i - 1] if i > 0 else None
                closure = max(closure, _closure_amount(t, p, previous))
        # each phone's weighted shape in float32, summed in phone order: the running sum it replaces
        total = (np.array(dominance, np.float32)[:, None] * _SHAPE_MATRIX[rows]).sum(axis=0)
        shape = total / max(weight_sum, 1e-6)
        shape = self._gains(t, track, shape)
        if closure > 0:
            shape = (1.0 - closure) * shape + closure * VISEME_SHAPES[BILABIAL]
        return np.clip(shape, 0.0, 1.0)

    @staticmethod
    def _pause_dominance(length: float) -> tuple[float, float, float]:
        if length < _HOLD_PAUSE:
            return 0.05, 40.0, 40.0  # too short to show: neighbours hold the shape
        if length < _REST_PAUSE:
            return 0.6, 20.0, 20.0  # relax part way
        return 3.0, 12.0, 12.0  # a real pause: back to rest

    def _gains(self, t: float, track: SpeechTrack, shape: np.ndarray) -> np.ndarray:
        loud = track.loudness(t)
        sentence = track.sentence_at(t)
        emotion_gain = _EMOTION_JAW_GAIN.get(sentence.emotion, 1.0) ** (2 * sentence.intensity) if sentence else 1.0
        emphasis = 1.2 if track.emphasised_at(t) else 1.0
        jaw_gain = self.style.mouth_gain * emotion_gain * emphasis * (0.55 + 0.75 * loud)
        lip_gain = self.style.mouth_gain * (0.75 + 0.35 * loud)
        shape = shape * lip_gain
        shape[_JAW] *= jaw_gain / lip_gain
        shape[_LIP_OPEN] *= (0.5 + 0.5 * jaw_gain / lip_gain)
        return shape


def _silence_length(phonemes: list[Phoneme], i: int) -> float:
    """Length of the silence phoneme i belongs to: adjacent pauses (a sentence's last and the next
    one's first) are one silence."""
    a = b = i
    while a > 0 and viseme_of(phonemes[a - 1].symbol) == "sil" and phonemes[a - 1].end >= phonemes[a].start - 1e-3:
        a -= 1
    while (b + 1 < len(phonemes) and viseme_of(phonemes[b + 1].symbol) == "sil"
           and phonemes[b + 1].start <= phonemes[b].end + 1e-3):
        b += 1
    return phonemes[b].end - phonemes[a].start


def _closure_amount(t: float, p: Phoneme, previous: Phoneme | None) -> float:
    """How closed the lips must be at t for bilabial p: 0 before the lead, 1 from p's start to just
    past its midpoint, released by its end."""
    lead = _CLOSURE_LEAD
    if previous is not None and previous.symbol != "_":
        lead = min(lead, 0.6 * (previous.end - previous.start))
    lead = max(lead, 0.02)
    hold_until = p.start + 0.75 * (p.end - p.start)
    if t < p.start - lead or t > p.end + _CLOSURE_RELEASE:
        return 0.0
    if t < p.start:
        return smoothstep((t - (p.start - lead)) / lead)
    if t <= hold_until:
        return 1.0
    return 1.0 - smoothstep((t - hold_until) / max(1e-3, p.end + _CLOSURE_RELEASE - hold_until))
