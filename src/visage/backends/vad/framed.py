"""What every frame-based detector shares: a fixed frame grid and the start/end hysteresis.

A detector model only says, frame by frame, whether a frame sounds like speech. Turn-taking needs
more than that: a cough or a click must not start a turn, and the short pauses inside a sentence
must not end one. So a turn starts once `min_speech` seconds of speech frames have been heard within
the last `window` seconds, and ends after `silence` seconds without speech frames.

Frames sit on a grid counted from the first sample ever given, whatever the chunk sizes, so the same
audio gives the same events whether it arrives 10 ms or a third of a second at a time.
"""
from __future__ import annotations

from abc import abstractmethod
from collections import deque

import numpy as np

from visage.backends.vad.base import VadEvent, VoiceActivityDetector
from visage.errors import InputError

SAMPLE_RATE = 16000
MIN_SPEECH = 0.12  # seconds of speech frames that start a turn (shorter sounds are clicks, coughs)
WINDOW = 0.3  # ...heard within this many seconds
SILENCE = 0.5  # seconds without speech that end a turn; the live reply waits this long after the user


class SpeechHysteresis:
    """Start and end decisions from per-frame speech flags; times in seconds on the frame clock.

    A speech frame counts only inside a burst (`min_speech` of speech within `window`), both to start a
    turn and to keep one going, so isolated false alarms in noise neither start nor prolong a turn.
    `end_lag` is how long the detector itself keeps flagging speech after speech stops (webrtcvad's
    built-in hangover): it is taken off end times so they mark when the speaker fell silent, and an
    end is reported `silence` after that.
    """

    def __init__(self, frame_seconds: float, min_speech: float = MIN_SPEECH, window: float = WINDOW,
                 silence: float = SILENCE, end_lag: float = 0.0) -> None:
        if not 0 < min_speech <= window:
            raise InputError(f"min_speech ({min_speech} s) must be positive and within window ({window} s)")
        if silence <= end_lag:
            raise InputError(f"silence must be longer than the detector's own hangover ({end_lag} s), not {silence}")
        self.frame_seconds = frame_seconds
        self.end_lag = end_lag
        self._needed = max(1, int(round(min_speech / frame_seconds)))
        self._recent: deque[tuple[int, bool]] = deque(maxlen=max(self._needed, int(round(window / frame_seconds))))
        # frames of detector silence that end a turn: `silence` after the speaker fell silent, not after
        # the detector's hangover (with webrtcvad's, a reply can start 0.1 s sooner)
        self._silence_frames = max(1, int(round((silence - end_lag) / frame_seconds)))
        self.reset()

    def reset(self) -> None:
        self._recent.clear()
        self._voiced = 0  # speech frames in _recent
        self.speaking = False
        self._index = 0  # frames seen
        self._start = 0.0
        self._last_speech = -1  # index of the last speech frame inside a burst, while speaking

    @property
    def quiet(self) -> float:
        """While speaking: how long the speaker has been silent (0 while speech goes on); else 0. It
        reaches `silence` when the end is reported, so a caller can act on shorter silences itself."""
        if not self.speaking:
            return 0.0
        quiet_frames = self._index - 1 - self._last_speech
        return quiet_frames * self.frame_seconds + self.end_lag if quiet_frames > 0 else 0.0

    def step(self, speech: bool) -> VadEvent | None:
        """Take the next frame's flag; return the event it completes, if any."""
        k = self._index
        self._index += 1
        if len(self._recent) == self._recent.maxlen:
            self._voiced -= self._recent[0][1]
        self._recent.append((k, speech))
        self._voiced += speech
        burst = speech and self._voiced >= self._needed
        if not self.speaking:
            if not burst:
                return None
            self.speaking, self._last_speech = True, k
            self._start = next(i for i, s in self._recent if s) * self.frame_seconds
            return VadEvent("start", self._start)
        if burst:
            self._last_speech = k
        elif k - self._last_speech >= self._silence_frames:
            self.speaking = False
            self._recent.clear()
            self._voiced = 0
            end = (self._last_speech + 1) * self.frame_seconds - self.end_lag
            return VadEvent("end", max(end, self._start + self.frame_seconds))
        return None


class FramedDetector(VoiceActivityDetector):
    """A detector that classifies fixed frames of `frame_samples` 16 kHz samples (set by subclasses)."""

    frame_samples: int = 320

    def __init__(self, min_speech: float = MIN_SPEECH, window: float = WINDOW, silence: float = SILENCE,
                 end_lag: float = 0.0) -> None:
        self._hysteresis = SpeechHysteresis(self.frame_samples / SAMPLE_RATE, min_speech, window, silence, end_lag)
        self._pending = np.zeros(0, np.float32)

    @abstractmethod
    def _is_speech(self, frame: np.ndarray) -> bool:
        """Whether one frame (float32, `frame_samples` long) sounds like speech."""

    def _reset_model(self) -> None:
        """Forget any model state carried between frames."""

    def process(self, samples: np.ndarray) -> list[VadEvent]:
        x = np.asarray(samples, dtype=np.float32)
        if x.ndim != 1:
            raise InputError(f"voice activity detection takes mono audio (one dimension), not shape {x.shape}")
        self.load()
        if len(self._pending):
            x = np.concatenate([self._pending, x])
        n = len(x) // self.frame_samples
        events = []
        for i in range(n):
            event = self._hysteresis.step(self._is_speech(x[i * self.frame_samples : (i + 1) * self.frame_samples]))
            if event is not None:
                events.append(event)
        self._pending = x[n * self.frame_samples :].copy()
        return events

    def reset(self) -> None:
        self._hysteresis.reset()
        self._pending = np.zeros(0, np.float32)
        self._reset_model()

    @property
    def speaking(self) -> bool:
        return self._hysteresis.speaking

    @property
    def quiet(self) -> float:
        return self._hysteresis.quiet
