"""Emotion to face: FACS-based expressions, cross-faded between sentences, softened on the mouth while
speaking, plus the brow gestures that carry meaning (a raise on emphasis, brows up on a question) and
the faces of listening and thinking.

Expressions follow EMFACS (animation-facts.md): happiness AU6+12, sadness 1+4+15, surprise 1+2+5+26,
fear 1+2+4+5+7+20+26, anger 4+5+7+23, disgust 9+15+16, mapped to ARKit shapes by the table there.
"""
from __future__ import annotations

import math

import numpy as np

from visage.core.arkit import INDEX, MOUTH, N_BLENDSHAPES, weights
from visage.core.motion.models import ExpressionModel
from visage.core.motion.style import MotionStyle
from visage.core.motion.track import SpeechTrack
from visage.core.types import ConversationState, Emotion, SentenceType
from visage.core.motion.easing import smoothstep

EXPRESSIONS: dict[Emotion, np.ndarray] = {
    Emotion.NEUTRAL: weights({}),
    Emotion.HAPPY: weights({"cheekSquint": 0.55, "mouthSmile": 0.75, "eyeSquint": 0.25, "mouthDimple": 0.2,
                            "browOuterUp": 0.1}),
    Emotion.SAD: weights({"browInnerUp": 0.75, "browDown": 0.3, "mouthFrown": 0.6, "mouthShrugLower": 0.3,
                          "eyeLookDown": 0.15, "mouthPress": 0.1}),
    Emotion.SURPRISED: weights({"browInnerUp": 0.8, "browOuterUp": 0.8, "eyeWide": 0.75, "jawOpen": 0.25}),
    Emotion.FEARFUL: weights({"browInnerUp": 0.8, "browOuterUp": 0.45, "browDown": 0.3, "eyeWide": 0.65,
                              "eyeSquint": 0.15, "mouthStretch": 0.5, "jawOpen": 0.12}),
    Emotion.ANGRY: weights({"browDown": 0.85, "eyeWide": 0.25, "eyeSquint": 0.5, "mouthPress": 0.5,
                            "noseSneer": 0.25, "mouthFrown": 0.2}),
    Emotion.DISGUSTED: weights({"noseSneer": 0.7, "mouthUpperUp": 0.45, "mouthFrown": 0.4, "mouthLowerDown": 0.25,
                                "browDown": 0.4, "eyeSquint": 0.3, "cheekSquint": 0.2}),
}
STATE_EXPRESSIONS: dict[ConversationState, np.ndarray] = {
    # attentive: brows slightly lifted, eyes a little wider, a hint of a smile
    ConversationState.LISTENING: weights({"browInnerUp": 0.12, "eyeWide": 0.08, "mouthSmile": 0.08}),
    # concentration: brows drawn a little, lips pressed and pulled aside
    ConversationState.THINKING: weights({"browDown": 0.2, "mouthPress": 0.2, "mouthLeft": 0.15, "eyeSquint": 0.12,
                                         "browInnerUp": 0.1}),
}

CROSSFADE_SECONDS = 0.4  # emotions cross-fade over 300-500 ms (animation-facts.md)
# While speaking, emotional mouth shapes are attenuated so visemes stay legible; a smile survives
# better than a press or a frown, which fight the lips' articulation.
_MOUTH_KEEP_WHILE_SPEAKING = np.where(MOUTH, 0.4, 1.0).astype(np.float32)
_MOUTH_KEEP_WHILE_SPEAKING[[INDEX["mouthSmileLeft"], INDEX["mouthSmileRight"]]] = 0.7
_MOUTH_KEEP_WHILE_SPEAKING[INDEX["jawOpen"]] = 0.0  # speech owns the jaw
_MOUTH_SOFTENING = 1.0 - _MOUTH_KEEP_WHILE_SPEAKING  # the share of each shape taken away while speaking
_SPEAKING_SMOOTH = 0.12  # seconds: how fast the mouth softening follows speech on and off

_BROWS_UP = weights({"browInnerUp": 1.0, "browOuterUp": 1.0})
_EMPHASIS_BROW = 0.3
_QUESTION_BROW = 0.3
_QUESTION_RELEASE = 0.6  # s: brows come down after a question ends
_SMILE = weights({"mouthSmile": 1.0, "cheekSquint": 0.3})


class RuleExpressionModel(ExpressionModel):
    def __init__(self, style: MotionStyle, fps: float) -> None:
        self.style = style
        self.dt = 1.0 / fps
        self.reset()

    def reset(self) -> None:
        self._current = np.zeros(N_BLENDSHAPES, np.float32)
        self._from = self._current.copy()
        self._target_key: tuple | None = None
        self._fade_start = 0.0
        self._speaking = 0.0
        self._state_level = {s: 0.0 for s in STATE_EXPRESSIONS}
        self._targets: dict[tuple, np.ndarray] = {}
        self._smile = self.style.smile_baseline * _SMILE

    def weights(self, t: float, track: SpeechTrack, state: ConversationState) -> np.ndarray:
        """Each term is added only when it is not zero (adding zeros changes nothing), so a face at
        rest or holding one expression costs a few vector operations instead of a dozen."""
        sentence = track.sentence_at(t)
        live = sentence is not None and (sentence.end is None or t <= sentence.end + 0.5)
        if live:
            key = (sentence.emotion, round(sentence.intensity, 3))
            target = self._target(sentence.emotion, sentence.intensity)
        else:
            key, target = ("rest",), EXPRESSIONS[Emotion.NEUTRAL]
        if key != self._target_key:  # start a cross-fade from wherever the face is now
            self._from, self._target_key, self._fade_start = self._current.copy(), key, t
        x = smoothstep((t - self._fade_start) / CROSSFADE_SECONDS)
        # at the fade's end (1 - x) * from + x * target is the target itself
        self._current = target if x == 1.0 else (1 - x) * self._from + x * target

        face = self._current + self._smile if self.style.smile_baseline else self._current
        for s, shape in STATE_EXPRESSIONS.items():  # listening and thinking faces fade in and out
            goal = 1.0 if state == s else 0.0
            self._state_level[s] += (goal - self._state_level[s]) * min(1.0, self.dt / 0.3)
            if self._state_level[s]:
                face = face + self._state_level[s] * shape

        speaking = 1.0 if track.speaking(t) else 0.0
        self._speaking += (speaking - self._speaking) * min(1.0, self.dt / _SPEAKING_SMOOTH)
        if self._speaking:
            face = face * (1.0 - self._speaking * _MOUTH_SOFTENING)
        brows = self._brow_gestures(t, track)
        if brows:
            face = face + brows * _BROWS_UP
        return np.clip(face, 0.0, 1.0).astype(np.float32, copy=False)

    def _target(self, emotion: Emotion, intensity: float) -> np.ndarray:
        """The expression at full cross-fade, kept by emotion and intensity (read-only)."""
        key = (emotion, intensity)
        target = self._targets.get(key)
        if target is None:
            if len(self._targets) > 64:
                self._targets.clear()
            target = self._targets[key] = EXPRESSIONS[emotion] * (intensity * self.style.expression_gain)
        return target

    def _brow_gestures(self, t: float, track: SpeechTrack) -> float:
        """Brows rise on emphasised words (a bump around the stressed syllable) and towards the end of
        a question (animation-facts.md: brows follow the 1-2 Hz phrase rhythm)."""
        gain = self.style.brow_amplitude
        level = 0.0
        for _, peak in track.emphasis_peaks(t - 0.4, t + 0.4):
            if t < peak:  # rise over the 150 ms before the stressed syllable (within the look-ahead)
                bump = smoothstep((t - peak + 0.15) / 0.15)
            else:
                bump = math.exp(-0.5 * ((t - peak) / 0.15) ** 2)
            level = max(level, _EMPHASIS_BROW * bump)
        for sentence in track.sentences:  # a question's raise outlasts it by a moment
            if sentence.sentence_type != SentenceType.QUESTION or sentence.start > t:
                continue
            end = sentence.end if sentence.end is not None else track.horizon
            length = max(0.3, end - sentence.start)
            ramp_start = sentence.start + 0.6 * length
            if ramp_start <= t <= end + _QUESTION_RELEASE:
                x = min(1.0, (t - ramp_start) / (0.4 * length))
                fade = 1.0 - smoothstep(max(0.0, t - end) / _QUESTION_RELEASE)
                level = max(level, _QUESTION_BROW * x * fade)
        return level * gain


