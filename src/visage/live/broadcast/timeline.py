"""The broadcast's clock: audio samples are the master, video frames follow them exactly.

Each tick is one video frame and the audio that plays during it: frame k shows time k / fps and carries
samples k x block .. (k+1) x block, block = rate / fps (an integer: 48 kHz divides 25, 30 and 60). The
timestamps a sink writes are these counts, never the wall clock, so after an hour (90,000 frames at
25 fps) the two tracks still start every frame together. Speech is placed on this clock whole (an
`Utterance`, made before it starts), so the motion engine knows every phoneme ahead of the frame that
shows it; between utterances the engine's idle life (blinks, breathing, gaze) goes on.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from visage.core.audio import resample
from visage.core.motion.engine import MotionEngine
from visage.core.types import ConversationState, FaceFrame, Sentence, SpeechChunk

AUDIO_RATE = 48000  # AAC's usual rate for live ingest (YouTube, Twitch, nginx-rtmp); divides 25, 30, 60 fps


@dataclass(frozen=True)
class Utterance:
    """One line, spoken and ready: the voice's items with times from 0, and its audio at AUDIO_RATE."""

    text: str
    source: str  # "script", "say" or "ask": where the line came from (status and logs)
    items: tuple[SpeechChunk | Sentence, ...]
    samples: np.ndarray

    @property
    def duration(self) -> float:
        return len(self.samples) / AUDIO_RATE

    @classmethod
    def from_stream(cls, text: str, source: str, stream) -> "Utterance":
        """Collect a voice's stream (narrate's output) into an utterance, its audio resampled once."""
        items, pieces = [], []
        for item in stream:
            items.append(item)
            if isinstance(item, SpeechChunk) and len(item.samples):
                pieces.append((item.start, resample(item.samples, item.sample_rate, AUDIO_RATE)))
        end = max((round(start * AUDIO_RATE) + len(p) for start, p in pieces), default=0)
        samples = np.zeros(end, np.float32)
        for start, p in pieces:  # by time, not by order: a voice's chunk boundaries may round
            i = round(start * AUDIO_RATE)
            samples[i:i + len(p)] = p
        return cls(text, source, tuple(items), samples)


@dataclass(frozen=True)
class Tick:
    """Frame `index` and its audio: `samples` (block of them, mono float32) start at sample
    index x block; `face` is the motion at index / fps."""

    index: int
    samples: np.ndarray
    face: FaceFrame


class Timeline:
    """Speech placed on the sample clock, and the motion engine driven frame by frame along it."""

    def __init__(self, engine: MotionEngine, rate: int = AUDIO_RATE) -> None:
        if rate % engine.fps:
            raise ValueError(f"the audio rate {rate} must be a multiple of the frame rate {engine.fps}")
        self.engine, self.rate, self.fps = engine, rate, engine.fps
        self.block = rate // engine.fps
        self.index = 0  # the next frame
        self._speech = np.zeros(0, np.float32)
        self._speech_at = 0  # sample where the current utterance starts
        self.current: Utterance | None = None
        self.spoken_until = 0  # sample where the last utterance ended
        self.engine.set_state(ConversationState.IDLE)

    @property
    def samples(self) -> int:
        """Samples played so far: the master clock."""
        return self.index * self.block

    @property
    def now(self) -> float:
        return self.samples / self.rate

    @property
    def speaking(self) -> bool:
        return self.samples < self.spoken_until

    @property
    def silent_for(self) -> float:
        """Seconds since the last utterance ended (0 while speaking)."""
        return max(0, self.samples - self.spoken_until) / self.rate

    def start(self, utterance: Utterance) -> float:
        """Begin `utterance` at the next frame; returns its start on the clock. The current one, if any,
        is cut (the host only starts lines when it is silent)."""
        at = self.samples
        offset = at / self.rate
        self._speech, self._speech_at, self.current = utterance.samples, at, utterance
        self.spoken_until = at + len(utterance.samples)
        for item in utterance.items:
            if isinstance(item, Sentence):
                item = replace(item, start=item.start + offset, end=None if item.end is None else item.end + offset)
            else:
                item = item.shifted(offset)
            self.engine.push(item)
        self.engine.end_of_speech()
        return offset

    def tick(self) -> Tick:
        """The next frame's motion and audio; the clock moves on by one frame."""
        begin = self.samples
        samples = np.zeros(self.block, np.float32)
        lo, hi = begin - self._speech_at, begin - self._speech_at + self.block
        if hi > 0 and lo < len(self._speech):
            piece = self._speech[max(lo, 0):hi]
            samples[max(-lo, 0):max(-lo, 0) + len(piece)] = piece
        frames = self.engine.frames_until(self.index / self.fps)
        if self.current is not None and begin >= self.spoken_until:
            self.current, self._speech = None, np.zeros(0, np.float32)
        tick = Tick(self.index, samples, frames[-1])
        self.index += 1
        return tick
