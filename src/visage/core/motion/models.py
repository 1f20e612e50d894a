"""The small interfaces behind which each layer of motion sits, so that a learned model (for example
one exported to ONNX) can replace a rule-based layer without touching the rest.

Every model is stateful and is asked once per frame, in time order; `reset` returns it to rest after
an interruption. `t` is on the audio clock; the track holds the speech known so far.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from visage.core.motion.track import SpeechTrack
from visage.core.types import ConversationState, Gaze, HeadPose


@dataclass(frozen=True)
class LifeFrame:
    """The living layer's output: blendshape additions (blinks, squints), gaze, and a small head
    offset (breathing and idle sway) added to the head model's pose."""

    blendshapes: np.ndarray
    gaze: Gaze
    head_offset: HeadPose


class LipModel(ABC):
    """Speech to mouth: the mouth and jaw blendshapes for time t."""

    @abstractmethod
    def weights(self, t: float, track: SpeechTrack) -> np.ndarray: ...

    def reset(self) -> None: ...


class ExpressionModel(ABC):
    """Emotion to face: expression blendshapes for time t (before mouth softening)."""

    @abstractmethod
    def weights(self, t: float, track: SpeechTrack, state: ConversationState) -> np.ndarray: ...

    def reset(self) -> None: ...


class HeadPoseModel(ABC):
    """Speech and meaning to head pose, within the style's limits."""

    @abstractmethod
    def pose(self, t: float, track: SpeechTrack, state: ConversationState) -> HeadPose: ...

    def reset(self) -> None: ...


class LifeModel(ABC):
    """Blinks, gaze, breathing and idle motion."""

    @abstractmethod
    def frame(self, t: float, track: SpeechTrack, state: ConversationState) -> LifeFrame: ...

    def reset(self) -> None: ...
