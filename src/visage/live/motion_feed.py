"""Face frames for a page that draws the face itself (browser drawing): no pixels, only the motion.

The server of a browser-drawn conversation does everything a video one does (recognition, the brain,
the voice, the motion engine) except rendering and video encoding, the bulk of its CPU. The audio
track plays the output clock as before; this feed takes the face at each 1/fps of the same clock, as
the clock reaches it, and hands it to `send` as a motion-stream record ({"type": "frame", "t", 52
ARKit weights, head pose, gaze}: the schema of the motion WebSocket, so one client draws both). A
frame leaves when the audio of its time leaves, so it reaches the page ahead of that audio, which
still waits in the page's jitter buffer; the page draws the frame whose `t` the audio it plays has
reached, interpolating between frames at the display's rate. Like the video track, a feed that falls
behind skips to the clock (fewer frames) and never drifts.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from visage.core.records import frame_record
from visage.live.output import AvatarOutput


class MotionFeed:
    """One session's frames, sent as the output clock reaches them, until `stop()`."""

    def __init__(self, output: AvatarOutput, send: Callable[[dict], None]) -> None:
        self.output, self.send = output, send
        self.frames_sent = self.frames_skipped = 0
        self._stopped = False

    def stop(self) -> None:
        self._stopped = True

    async def run(self) -> None:
        out = self.output
        index = 0
        while not self._stopped:
            t = index / out.fps
            wait = out.t0 + t - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            elif -wait > 2.0 / out.fps:  # behind by more than two frames: skip to now
                skipped = int(-wait * out.fps)
                self.frames_skipped += skipped
                index += skipped
                t = index / out.fps
            if self._stopped:
                return
            if out.has_input():  # new speech to analyse (ms of work): off the loop, which paces the audio
                face = await asyncio.get_running_loop().run_in_executor(None, out.frame_at, t)
            else:
                face = out.frame_at(t)
            if self._stopped:
                return
            self.send({"type": "frame", **frame_record(face)})
            self.frames_sent += 1
            index += 1
