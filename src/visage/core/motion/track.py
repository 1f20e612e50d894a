"""What the motion engine knows of the speech so far: timed events and audio features, kept for a
few seconds behind the current frame, so memory stays bounded however long the conversation runs."""
from __future__ import annotations

import bisect
from collections.abc import Iterable

import numpy as np

from visage.core.audio import pitch_track, rms_envelope
from visage.core.types import Phoneme, Sentence, SpeechChunk, Word

FEATURE_HOP = 0.01  # seconds between loudness/pitch values
_RMS_WINDOW = 0.03
_PITCH_WINDOW_S = 2 / 60.0  # YIN needs two periods of the lowest pitch (60 Hz)
_SILENCE_RMS = 0.004  # below this (about -48 dBFS) a frame counts as silence
_PEAK_DECAY = 0.9993  # per hop: the loudness reference forgets a loud burst over ~10 s


class SpeechTrack:
    """Incoming speech (sentences, phonemes, words, audio) indexed by time on the audio clock."""

    def __init__(self) -> None:
        self.phonemes: list[Phoneme] = []
        self.words: list[Word] = []
        self.sentences: list[Sentence] = []
        self.horizon = 0.0  # input is known up to this time
        self.ended = False
        self._rate = 0
        self._pending = np.zeros(0, np.float32)  # audio not yet turned into features
        self._pending_start = 0.0
        self._feat_start = 0.0  # time of the first kept feature value
        self._loud: list[float] = []
        self._f0: list[float] = []
        self._peak = 0.05

    # -- input ------------------------------------------------------------------------------------
    def add_sentence(self, sentence: Sentence) -> None:
        for i, s in enumerate(self.sentences):
            if s.index == sentence.index and s.start == sentence.start:
                self.sentences[i] = sentence
                return
        self.sentences.append(sentence)

    def add_chunk(self, chunk: SpeechChunk) -> None:
        self.phonemes.extend(chunk.phonemes)
        self.words.extend(chunk.words)
        if len(chunk.samples):
            if not self._rate:
                self._rate = chunk.sample_rate
                self._pending_start = self._feat_start = chunk.start
            gap = chunk.start - (self._pending_start + len(self._pending) / self._rate)
            if gap > 1.0 / self._rate:  # silence between streams (a new reply): fill it
                self._pending = np.concatenate([self._pending, np.zeros(int(gap * self._rate), np.float32)])
            self._pending = np.concatenate([self._pending, chunk.samples.astype(np.float32)])
            self._analyse(final=False)
        self.horizon = max(self.horizon, chunk.end)

    def end(self) -> None:
        """No more input for now: everything known may be animated."""
        self._analyse(final=True)
        self.ended = True

    def resume(self) -> None:
        self.ended = False

    def cut(self, at: float) -> None:
        """Interruption: forget all speech after `at`."""
        self.phonemes = [p for p in self.phonemes if p.start < at]
        self.words = [w for w in self.words if w.start < at]
        self.phonemes = [p if p.end <= at else Phoneme(p.symbol, p.start, at, p.stressed) for p in self.phonemes]
        self.sentences = [s for s in self.sentences if s.start < at]
        keep = max(0, int(round((at - self._feat_start) / FEATURE_HOP)))
        self._loud, self._f0 = self._loud[:keep], self._f0[:keep]
        self._pending = np.zeros(0, np.float32)
        self._pending_start = self._feat_start + len(self._loud) * FEATURE_HOP
        self.horizon = at

    def forget_before(self, t: float) -> None:
        """Drop what lies wholly before `t` (the engine keeps a few seconds of history)."""
        self.phonemes = [p for p in self.phonemes if p.end >= t]
        self.words = [w for w in self.words if w.end >= t]
        ended = [s for s in self.sentences if s.end is not None and s.end < t]
        self.sentences = [s for s in self.sentences if s not in ended[:-1]]
        drop = int((t - self._feat_start) / FEATURE_HOP)
        if drop > 0:
            del self._loud[:drop], self._f0[:drop]
            self._feat_start += drop * FEATURE_HOP

    def _analyse(self, final: bool) -> None:
        if not self._rate:
            return
        hop = int(round(FEATURE_HOP * self._rate))
        need = int(_PITCH_WINDOW_S * self._rate * 2) + hop
        n = len(self._pending)
        if n < need and not final:
            return
        frames = (n - need) // hop + 1 if n >= need else 0
        if final and n > 0:
            padded = np.concatenate([self._pending, np.zeros(need, np.float32)])
            frames = int(np.ceil(n / hop))
        else:
            padded = self._pending
        if frames <= 0:
            return
        block = padded[: (frames - 1) * hop + need]
        offset = int(_RMS_WINDOW * self._rate / 2)
        loud = rms_envelope(np.concatenate([np.zeros(offset, np.float32), block]), self._rate, FEATURE_HOP, _RMS_WINDOW)
        f0 = pitch_track(block, self._rate, FEATURE_HOP, gate=_SILENCE_RMS)
        for k in range(frames):
            rms = float(loud[k]) if k < len(loud) else 0.0
            self._peak = max(self._peak * _PEAK_DECAY, rms)
            # dB scale: 30 dB below the recent peak is silence, the peak is 1 (any voice's level works)
            level = 0.0 if rms < _SILENCE_RMS else 1.0 + 20.0 * np.log10(rms / self._peak) / 30.0
            self._loud.append(float(np.clip(level, 0.0, 1.0)))
            self._f0.append(float(f0[k]) if k < len(f0) else 0.0)
        used = frames * hop
        self._pending = self._pending[used:] if not final else np.zeros(0, np.float32)
        self._pending_start += used / self._rate

    # -- queries ----------------------------------------------------------------------------------
    def loudness(self, t: float) -> float:
        """Loudness at `t` in [0, 1], relative to the recent loudest speech (so any voice's level works)."""
        k = int(round((t - self._feat_start) / FEATURE_HOP))
        return self._loud[k] if 0 <= k < len(self._loud) else 0.0

    def pitch(self, t: float) -> float:
        """F0 in Hz at `t`, 0 when unvoiced or unknown."""
        k = int(round((t - self._feat_start) / FEATURE_HOP))
        return self._f0[k] if 0 <= k < len(self._f0) else 0.0

    def pitch_median(self) -> float:
        voiced = [f for f in self._f0 if f > 0]
        return float(np.median(voiced)) if voiced else 0.0

    def phonemes_between(self, a: float, b: float) -> list[Phoneme]:
        return _between(self.phonemes, a, b)

    def words_between(self, a: float, b: float) -> list[Word]:
        return _between(self.words, a, b)

    def sentence_at(self, t: float) -> Sentence | None:
        """The sentence being spoken at `t`, or the last one begun before it."""
        current = None
        for s in self.sentences:
            if s.start <= t:
                current = s
        return current

    def speaking(self, t: float) -> bool:
        """Whether `t` falls inside a sounding phoneme (not a pause)."""
        return any(p.symbol != "_" for p in self.phonemes_between(t, t + 1e-6))


def _between(events: Iterable, a: float, b: float) -> list:
    """Events overlapping [a, b): lists are in start order, so search by start."""
    events = list(events) if not isinstance(events, list) else events
    starts = [e.start for e in events]
    hi = bisect.bisect_left(starts, b)
    return [e for e in events[:hi] if e.end > a]
