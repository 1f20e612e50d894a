"""Voice activity detection: where speech starts and ends in a live audio stream."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class VadEvent:
    """`kind` is "start" or "end"; `time` in seconds on the input audio's clock (from the first sample
    given). An end comes after `silence` seconds of non-speech, and its time is when speech stopped."""

    kind: str
    time: float


class VoiceActivityDetector(ABC):
    """Feed 16 kHz mono float32 audio of any length; get speech start and end events."""

    name: str = "vad"

    def load(self) -> None:
        """Load models; raise BackendError or MissingExtraError with a fix if impossible."""

    @abstractmethod
    def process(self, samples: np.ndarray) -> list[VadEvent]:
        """Events completed by this audio (an end is reported once the trailing silence has passed)."""

    @abstractmethod
    def reset(self) -> None:
        """Forget the stream (a new connection)."""

    @property
    @abstractmethod
    def speaking(self) -> bool:
        """Whether the user is speaking now (between a start and its end)."""

    @property
    def quiet(self) -> float:
        """While speaking, seconds since the speaker fell silent (0 during speech or when not speaking).
        Detectors that cannot tell say 0, and their callers wait for the end event."""
        return 0.0
