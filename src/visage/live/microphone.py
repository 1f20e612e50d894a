"""The microphone's frames as 16 kHz mono for the turn listener, at a cost a server can pay per session.

A WebRTC microphone arrives as 20 ms frames of 48 kHz audio. Resampling each frame on its own with
scipy's `resample_poly` cost about a tenth of a core for five sessions (argument checks and set-up per
call), and it was also slightly wrong: every frame was filtered as if silence surrounded it, so every
20 ms boundary had a filter ramp. `Decimator` keeps the filter's history between frames and applies
the same anti-alias filter (the one `resample_poly` designs for these rates) once per output sample:
its output is `resample_poly` of the whole stream, delayed by half the filter (0.6 ms at 48 kHz).

`MicBatcher` decides how much audio goes to the listener in one worker-thread hop: while the listener
is idle (no turn open, nobody speaking) 100 ms at a time, as soon as it is not every frame, so the end
of a turn is decided as early as before; only a turn's start can be seen up to 100 ms later.
"""
from __future__ import annotations

from math import gcd

import numpy as np

from visage.core.audio import _lowpass, resample

IDLE_BATCH = 0.1  # seconds of microphone audio handed to an idle listener at once


class Decimator:
    """Streaming integer-factor downsampling (rate_in = k * rate_out) with resample_poly's filter."""

    def __init__(self, rate_in: int, rate_out: int) -> None:
        g = gcd(rate_in, rate_out)
        up, down = rate_out // g, rate_in // g
        if up != 1:
            raise ValueError(f"Decimator needs an integer ratio, not {rate_in} -> {rate_out} Hz")
        self.rate_in, self.rate_out, self.factor = rate_in, rate_out, down
        self._taps = _lowpass(1, down).astype(np.float32)
        self._history = np.zeros(len(self._taps) - 1, np.float32)
        self._position = 0  # input samples seen so far

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        samples = np.asarray(samples, np.float32)
        if len(samples) == 0:
            return samples
        extended = np.concatenate([self._history, samples])
        first = (-self._position) % self.factor  # the first new sample whose index is a multiple of factor
        # the filter's output at every new sample (C, 60 k multiply-adds a frame); every factor-th kept
        out = np.convolve(extended, self._taps, "valid")[first::self.factor]
        self._history = extended[len(extended) - len(self._history):]
        self._position += len(samples)
        return out.astype(np.float32, copy=False)


class MicrophoneResampler:
    """WebRTC audio frames (s16, packed or planar, any channel count) as 16 kHz mono float, streaming."""

    def __init__(self, rate_out: int) -> None:
        self.rate_out = rate_out
        self._decimator: Decimator | None = None

    def __call__(self, frame) -> np.ndarray:
        mono = frame_mono(frame)
        rate = frame.sample_rate
        if rate == self.rate_out:
            return mono
        if rate % self.rate_out:
            return resample(mono, rate, self.rate_out)  # an odd rate: per frame, as before
        if self._decimator is None or self._decimator.rate_in != rate:
            self._decimator = Decimator(rate, self.rate_out)
        return self._decimator(mono)


def frame_mono(frame) -> np.ndarray:
    """A WebRTC audio frame's samples as mono float in [-1, 1)."""
    pcm = frame.to_ndarray().astype(np.float32).reshape(-1)
    channels = len(frame.layout.channels)
    if channels == 1:
        return pcm * np.float32(1 / 32768)
    # channel by channel: numpy's mean over a strided axis cost seven times more for 20 ms of stereo
    if frame.format.is_planar:
        parts = pcm.reshape(channels, -1)
    else:
        parts = [pcm[c::channels] for c in range(channels)]
    total = parts[0].copy()
    for part in parts[1:]:
        total += part
    return total * np.float32(1 / (32768 * channels))


class MicBatcher:
    """Collects microphone chunks; `ready` says when the listener should hear what has been collected."""

    def __init__(self, sample_rate: int, idle_batch: float = IDLE_BATCH) -> None:
        self.limit = int(round(idle_batch * sample_rate))
        self._chunks: list[np.ndarray] = []
        self._samples = 0

    def add(self, audio: np.ndarray) -> None:
        self._chunks.append(audio)
        self._samples += len(audio)

    def ready(self, listener_idle: bool) -> bool:
        return self._samples > 0 and (not listener_idle or self._samples >= self.limit)

    def take(self) -> np.ndarray:
        chunks, self._chunks, self._samples = self._chunks, [], 0
        return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
