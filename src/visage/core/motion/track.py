"""What the motion engine knows of the speech so far: timed events and audio features, kept for a
few seconds behind the current frame, so memory stays bounded however long the conversation runs."""
from __future__ import annotations

import bisect
import math

import numpy as np

from visage.core.audio import pitch_track
from visage.core.types import Phoneme, Sentence, SpeechChunk, Word

FEATURE_HOP = 0.01  # seconds between loudness/pitch values
_RMS_WINDOW = 0.03
_PITCH_WINDOW_S = 2 / 60.0  # YIN needs two periods of the lowest pitch (60 Hz)
_SILENCE_RMS = 0.004  # below this (about -48 dBFS) a frame counts as silence
_TYPICAL_STRESS_DELAY = 0.08  # s from an emphasised word's onset to its stressed vowel, when unknown
_REF_RATE = 0.005  # per voiced hop: the pitch reference follows the speaker over ~2 s of voicing
_BATCH = 0.3  # s of audio buffered before it is analysed unasked (a query for a value analyses at once)
_PEAK_DECAY = 0.9993  # per hop: the loudness reference forgets a loud burst over ~10 s


class SpeechTrack:
    """Incoming speech (sentences, phonemes, words, audio) indexed by time on the audio clock."""

    def __init__(self) -> None:
        self.phonemes: list[Phoneme] = []
        self.words: list[Word] = []
        self.sentences: list[Sentence] = []
        self.horizon = 0.0  # audio is known up to this time
        self.events_horizon = 0.0  # phonemes are known up to this time (one phoneme behind the audio)
        self.ended = False
        self._rate = 0
        self._pending = np.zeros(0, np.float32)  # audio not yet turned into features
        self._pending_pos = 0  # sample index (on the audio clock) of _pending[0]
        self._feat_start = 0.0  # time of the first kept feature value
        self._loud: list[float] = []
        self._f0: list[float] = []
        self._peak = 0.05
        self._f0_ref: list[float] = []
        self._ref_log_f0: float | None = None
        self._phoneme_index, self._word_index = _TimeIndex(), _TimeIndex()
        self._stale = False  # audio arrived since the last analysis

    # -- input ------------------------------------------------------------------------------------
    def add_sentence(self, sentence: Sentence) -> None:
        """Add a sentence as it starts, and replace it with its ended form (its tags arrive valid)."""
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
                self._pending_pos = int(round(chunk.start * chunk.sample_rate))
                self._feat_start = chunk.start
            gap = int(round(chunk.start * self._rate)) - (self._pending_pos + len(self._pending))
            if gap > 0:  # silence between streams (a new reply): fill it
                self._pending = np.concatenate([self._pending, np.zeros(gap, np.float32)])
            self._pending = np.concatenate([self._pending, chunk.samples.astype(np.float32)])
            self._stale = True
            if len(self._pending) > _BATCH * self._rate:
                self._analyse(final=False)
        self.horizon = max(self.horizon, chunk.end)
        if chunk.phonemes:
            self.events_horizon = max(self.events_horizon, chunk.phonemes[-1].end)

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
        self._catch_up()
        keep = max(0, int(round((at - self._feat_start) / FEATURE_HOP)))
        self._loud, self._f0, self._f0_ref = self._loud[:keep], self._f0[:keep], self._f0_ref[:keep]
        self._pending = np.zeros(0, np.float32)
        self._pending_pos = int(round((self._feat_start + len(self._loud) * FEATURE_HOP) * self._rate))
        self.horizon = self.events_horizon = at

    def forget_before(self, t: float) -> None:
        """Drop what lies wholly before `t` (the engine keeps a few seconds of history)."""
        self.phonemes = [p for p in self.phonemes if p.end >= t]
        self.words = [w for w in self.words if w.end >= t]
        ended = [s for s in self.sentences if s.end is not None and s.end < t]
        self.sentences = [s for s in self.sentences if s not in ended[:-1]]
        self._catch_up()
        drop = int((t - self._feat_start) / FEATURE_HOP)
        if drop > 0:
            del self._loud[:drop], self._f0[:drop], self._f0_ref[:drop]
            self._feat_start += drop * FEATURE_HOP

    def _catch_up(self) -> None:
        if self._stale:
            self._analyse(final=False)

    def _analyse(self, final: bool) -> None:
        """Turn buffered audio into loudness and pitch values centred on every FEATURE_HOP whose window
        is complete. It runs once _BATCH seconds are buffered, or at once when a query asks for a value
        not yet made, so a frame sees exactly the values it would if each chunk were analysed on
        arrival, at a fraction of the calls (a voice sends 40 ms chunks). Values depend only on the
        audio, never on how it was cut into chunks or batched (to rounding: a loudness sum is taken
        over the batch), so streamed and whole input animate identically."""
        if not self._rate:
            return
        self._stale = False
        rate = self._rate
        context = int(_PITCH_WINDOW_S * rate) + 2  # samples each side a value needs
        buf_end = (self._pending_pos + len(self._pending)) / rate
        centres = []
        while True:
            c = self._feat_start + (len(self._loud) + len(centres)) * FEATURE_HOP
            if c + context / rate > buf_end and not (final and c < buf_end):
                break
            centres.append(c)
        if not centres:
            return
        lead = context + 1
        head_n = max(0, lead - (int(round(centres[0] * rate)) - self._pending_pos))
        head_n += (self._pending_pos - head_n) % 2  # an even origin: pitch_track decimates by pairs
        head = np.zeros(head_n, np.float32)
        tail = np.zeros(context + 2, np.float32) if final else np.zeros(0, np.float32)
        block = np.concatenate([head, self._pending, tail])
        origin = self._pending_pos - len(head)  # sample index of block[0]
        idx = np.round(np.array(centres) * rate).astype(int) - origin
        half = int(_RMS_WINDOW * rate / 2)
        sq = np.concatenate([[0.0], np.cumsum(block.astype(np.float64) ** 2)])
        rms = np.sqrt(np.maximum(sq[idx + half] - sq[idx - half], 0.0) / (2 * half))
        window = int(2 * rate / 60.0)  # pitch_track's analysis window (2 periods of 60 Hz)
        pitch_starts = (idx - window // 2) // 2 * 2
        # pitch is only searched where the window holds sound: digital silence (the gap between replies,
        # seconds of it at a reply's start) has none by construction, and YIN on it cost the live
        # session's event loop tens of ms per reply (its audio packets then left late)
        sounding = sq[np.minimum(pitch_starts + window + 2, len(sq) - 1)] > sq[np.maximum(pitch_starts, 0)]
        f0s = np.zeros(len(idx), np.float32)
        if sounding.any():
            f0s[sounding] = pitch_track(block, rate, gate=_SILENCE_RMS, starts=pitch_starts[sounding])
        # the running references are sequential, their logs and powers are not: one numpy call each
        # per batch (the same ufuncs as per value, so the same numbers)
        pitches, values = f0s.tolist(), rms.tolist()
        logs = np.log(np.maximum(f0s.astype(np.float64), 1e-30)).tolist()
        ref, peak = self._ref_log_f0, self._peak
        refs, ratios = [], []
        for pitch, log_pitch, value in zip(pitches, logs, values):
            if pitch > 0:  # log-domain average over ~2 s of voiced speech
                ref = log_pitch if ref is None else ref + (log_pitch - ref) * _REF_RATE
            refs.append(ref)
            peak = max(peak * _PEAK_DECAY, value)
            ratios.append(value / peak if value >= _SILENCE_RMS else 1.0)
        self._ref_log_f0, self._peak = ref, peak
        powers = np.exp(np.array([0.0 if r is None else r for r in refs])).tolist()
        self._f0 += pitches
        self._f0_ref += [0.0 if r is None else p for r, p in zip(refs, powers)]
        # dB scale: 30 dB below the recent peak is silence, the peak is 1 (any voice's level works)
        for value, db in zip(values, np.log10(np.array(ratios)).tolist()):
            level = 0.0 if value < _SILENCE_RMS else 1.0 + 20.0 * db / 30.0
            self._loud.append(0.0 if level < 0.0 else (1.0 if level > 1.0 else level))
        keep_from = (self._feat_start + len(self._loud) * FEATURE_HOP) - lead / rate
        drop = int(round(keep_from * rate)) - self._pending_pos
        if drop > 0:
            self._pending = self._pending[drop:]
            self._pending_pos += drop
        if final:
            self._pending_pos += len(self._pending)
            self._pending = np.zeros(0, np.float32)

    # -- queries ----------------------------------------------------------------------------------
    def loudness(self, t: float) -> float:
        """Loudness at `t` in [0, 1], relative to the recent loudest speech (so any voice's level works)."""
        k = int(round((t - self._feat_start) / FEATURE_HOP))
        if k >= len(self._loud) and self._stale:
            self._analyse(final=False)
        return self._loud[k] if 0 <= k < len(self._loud) else 0.0

    def pitch(self, t: float) -> float:
        """F0 in Hz at `t`, 0 when unvoiced or unknown."""
        k = int(round((t - self._feat_start) / FEATURE_HOP))
        if k >= len(self._f0) and self._stale:
            self._analyse(final=False)
        return self._f0[k] if 0 <= k < len(self._f0) else 0.0

    def pitch_reference(self, t: float) -> float:
        """The speaker's typical F0 (Hz) as heard up to `t`: a slow running average of voiced pitch, so
        that a frame never depends on speech far ahead of it; 0 before any voiced speech."""
        k = int(round((t - self._feat_start) / FEATURE_HOP))
        if k >= len(self._f0_ref) and self._stale:
            self._analyse(final=False)
        return self._f0_ref[min(max(k, 0), len(self._f0_ref) - 1)] if self._f0_ref else 0.0

    def phonemes_between(self, a: float, b: float) -> list[Phoneme]:
        return self._phoneme_index.between(self.phonemes, a, b)

    def words_between(self, a: float, b: float) -> list[Word]:
        return self._word_index.between(self.words, a, b)

    def sentence_at(self, t: float) -> Sentence | None:
        """The sentence being spoken at `t`, or the last one begun before it."""
        current = None
        for s in self.sentences:
            if s.start <= t:
                current = s
        return current

    def emphasis_peaks(self, a: float, b: float) -> list[tuple[float, float]]:
        """(onset, peak) of each emphasised word whose phones overlap [a, b): the onset of its first
        phone and the onset of its stressed phone (else a third into what is heard of it). Known from
        the phones as they are said, so gestures can lead the word instead of trailing it."""
        runs: dict[tuple[float, int], list[Phoneme]] = {}
        key = None
        for p in self.phonemes_between(a - 1.0, b):
            if not p.emphasised:
                key = None
                continue
            if key is None or key[1] != p.word:
                key = (p.start, p.word)
            runs.setdefault(key, []).append(p)
        out = []
        for (onset, _), phones in runs.items():
            if phones[-1].end <= a:
                continue
            stressed = next((p for p in phones if p.stressed), None)
            # until the stressed phone is heard, expect it at the typical first-syllable stress
            peak = stressed.start if stressed else onset + _TYPICAL_STRESS_DELAY
            out.append((onset, peak))
        return out

    def emphasised_at(self, t: float) -> bool:
        return any(p.emphasised for p in self.phonemes_between(t, t + 1e-6))

    def speaking(self, t: float) -> bool:
        """Whether `t` falls inside a sounding phoneme (not a pause)."""
        return any(p.symbol != "_" for p in self.phonemes_between(t, t + 1e-6))


class _TimeIndex:
    """Starts and running-maximum ends of a start-ordered event list, kept while the list only grows,
    so a query bisects both instead of reading every event: the frame loop asks several times a
    frame. Rebuilt when the track replaces the list (a cut, or history forgotten)."""

    def __init__(self) -> None:
        self._events: list | None = None
        self._starts: list[float] = []
        self._ends: list[float] = []  # ends[i]: the latest end among events[: i + 1]

    def between(self, events: list, a: float, b: float) -> list:
        """Events with start < b and end > a, in order."""
        if not events:
            return []
        if events is not self._events or len(events) < len(self._starts):
            self._events, self._starts, self._ends = events, [], []
        starts, ends = self._starts, self._ends
        if len(starts) < len(events):
            latest = ends[-1] if ends else -math.inf
            for e in events[len(starts):]:
                starts.append(e.start)
                latest = e.end if e.end > latest else latest
                ends.append(latest)
        hi = bisect.bisect_left(starts, b)
        lo = bisect.bisect_right(ends, a, 0, hi)  # every event before lo ends by a
        return [e for e in events[lo:hi] if e.end > a]
