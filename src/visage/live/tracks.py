"""WebRTC tracks that play an AvatarOutput in real time: video frames and 20 ms audio frames, each
timestamped from the output clock and sent when the wall clock reaches it."""
from __future__ import annotations

import asyncio
import fractions
import time

import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame
from av.packet import Packet

from visage.live.audio_packets import OpusPackets
from visage.live.output import AUDIO_PTIME, AUDIO_RATE, AvatarOutput

VIDEO_CLOCK = 90000


class AvatarVideoTrack(MediaStreamTrack):
    kind = "video"

    def __init__(self, output: AvatarOutput, executor=None) -> None:
        super().__init__()
        self.output = output
        self.executor = executor
        self._index = 0

    async def recv(self) -> VideoFrame:
        out = self.output
        t = self._index / out.fps
        wait = out.t0 + t - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        elif -wait > 2.0 / out.fps:  # behind by more than two frames: skip to now (fewer frames, no drift)
            skipped = int(-wait * out.fps)
            out.frames_skipped += skipped
            self._index += skipped
            t = self._index / out.fps
        loop = asyncio.get_running_loop()
        try:  # the face is made off the loop too: feeding the motion engine a reply's speech takes ms
            image = await loop.run_in_executor(self.executor, self._make, t)
        except RuntimeError as exc:  # the session closed while this frame was being made
            raise MediaStreamError(str(exc)) from None
        frame = VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame.pts = int(round(t * VIDEO_CLOCK))
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._index += 1
        return frame

    def _make(self, t: float):
        return self.output.render(self.output.frame_at(t))


class AvatarAudioTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, output: AvatarOutput) -> None:
        super().__init__()
        self.output = output
        self._index = 0
        self.samples_per_frame = int(AUDIO_RATE * AUDIO_PTIME)
        self.first_sound: float | None = None  # wall time the current reply's first audible frame was sent
        self.first_index: int | None = None  # the first frame sent (its output time: index x 20 ms)
        # set by whoever sends the track (server/peers.py): recv gives Opus packets, silence cached
        # (audio_packets.py); otherwise AudioFrames, for aiortc or a test to encode or read
        self.packets: OpusPackets | None = None
        self.late_max = 0.0  # s the latest frame was handed over after its time (reset by whoever reads it)

    def begin_reply(self) -> None:
        """A reply begins: its first audible frame is timed afresh."""
        self.first_sound = None

    def send_encoded(self) -> None:
        """From now on recv gives Opus packets, not frames (see audio_packets.py for why)."""
        self.packets = OpusPackets()

    async def recv(self) -> AudioFrame | Packet:
        out = self.output
        if self.first_index is None:
            # the connection is up only now, seconds after the session's clock started: begin at the
            # present, not with those seconds of silence sent at once (the browser would play all of
            # them, and every reply would come that much later)
            self._index = max(0, int((time.monotonic() - out.t0) / AUDIO_PTIME))
            self.first_index = self._index
        start = self._index * self.samples_per_frame
        wait = out.t0 + start / AUDIO_RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
            wait = out.t0 + start / AUDIO_RATE - time.monotonic()
        self.late_max = max(self.late_max, -wait)
        samples = out.audio.read(start, self.samples_per_frame)
        out.audio_read = (start + self.samples_per_frame) / AUDIO_RATE  # where replies may start
        if self.first_sound is None and np.abs(samples).max() > 0.01:
            self.first_sound = time.time()
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16).reshape(1, -1)
        if self.packets is not None:  # RTP timestamps count from the first frame sent, as aiortc's own
            self._index += 1
            return self.packets.packet(pcm, start - self.first_index * self.samples_per_frame)
        frame = AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = start
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        self._index += 1
        return frame
