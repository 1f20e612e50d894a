"""The voice track's Opus packets, made in the track's own task, with silence as one cached packet.

aiortc encodes each 20 ms AudioFrame a track returns: it first measures the frame's level in a pure
Python loop over its 960 samples (the RTP audio-level extension, which no page of visage reads), then
hands the frame to a worker thread to encode. A live conversation is silent most of the time, and on a
server holding many sessions those per-frame costs add up to most of its audio work. A track may
instead return encoded packets, which aiortc only wraps in RTP. This class makes them: speech goes
through an Opus encoder right here (about 0.2 ms, no thread hop), and silence is the same 3-byte
packet every time (libopus's packet for digital silence), once the encoder has itself been given a few
silent frames, so that when speech resumes its state and the listener's decoder state agree.
"""
from __future__ import annotations

import fractions

import numpy as np
from aiortc.codecs.opus import OpusEncoder
from av import AudioFrame
from av.packet import Packet

RATE = 48000
TIME_BASE = fractions.Fraction(1, RATE)
SETTLE = 3  # silent frames still encoded after speech: the encoder (and so the decoder) settle to silence

_silence: bytes | None = None


def silence_payload() -> bytes:
    """libopus's packet for a silent 20 ms frame (measured once per process from a fresh encoder)."""
    global _silence
    if _silence is None:
        encoder, payload = OpusEncoder(), b""
        for i in range(SETTLE + 2):
            payloads, _ = encoder.encode(pcm_frame(np.zeros(RATE // 50, np.int16), i * (RATE // 50)))
            payload = payloads[-1] if payloads else payload
        _silence = payload
    return _silence


def pcm_frame(pcm: np.ndarray, pts: int) -> AudioFrame:
    """16-bit mono samples as an AudioFrame at `pts` (samples at 48 kHz)."""
    frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate, frame.pts, frame.time_base = RATE, pts, TIME_BASE
    return frame


class OpusPackets:
    """20 ms frames of 16-bit mono in, Opus packets with contiguous timestamps out."""

    def __init__(self) -> None:
        self._encoder = OpusEncoder()
        self._silent_run = SETTLE  # a fresh encoder is as good as settled
        self.encoded = self.cached = 0  # frames that went through the encoder / were the cached packet

    def packet(self, pcm: np.ndarray, pts: int) -> Packet:
        """The packet for `pcm` (int16, one 20 ms frame), stamped `pts` samples from the stream's start."""
        payload = None
        if not pcm.any():
            self._silent_run += 1
            if self._silent_run > SETTLE:
                payload = silence_payload()
                self.cached += 1
        else:
            self._silent_run = 0
        if payload is None:
            payloads, _ = self._encoder.encode(pcm_frame(pcm, pts))
            payload = payloads[-1] if payloads else silence_payload()  # libopus gives one per frame
            self.encoded += 1
        packet = Packet(payload)
        packet.pts, packet.time_base = pts, TIME_BASE
        return packet
