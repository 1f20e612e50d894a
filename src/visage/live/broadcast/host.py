"""The host: one loop that paces the timeline to the wall clock and hands each frame to the sender.

Per frame: start the next line when the host has been silent for the pause (and the stream is up),
advance the timeline by one frame, render it, convert it to I420 and submit it, then sleep until the
wall clock reaches the next frame. Timestamps come from the timeline's counts, never from that sleep,
so a late frame makes the stream late, never out of sync; lateness is reported, not hidden.
While the server is away lines wait (nothing is said into the void) and frames are not rendered; the
clock and the idle face go on, and the script resumes with the line after the one that was cut.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from visage.backends.llm.chat import Chat
from visage.backends.tts.base import TTSBackend
from visage.backends.tts.narration import narrate
from visage.core.types import SpeechRequest
from visage.live.broadcast.lines import LineRequest, Speaker
from visage.live.broadcast.rtmp import MediaJob, RtmpSender
from visage.live.broadcast.timeline import Timeline, Utterance

PAUSE_SECONDS = 1.0  # silence between lines: a breath, as a presenter takes
LATE_REPORT_SECONDS = 1.0  # say so when the stream falls this far behind the wall clock


def line_speaker(voice: TTSBackend, chat: Chat | None, requests_for: Callable[[str], Iterable[SpeechRequest]],
                 voice_name: str | None = None) -> Callable[[LineRequest], Utterance]:
    """`speak(request)` for the Speaker: the voice says the text ("say", "script") as `requests_for`
    makes it into sentences (the CLI's voice options: language, emotion...), or the brain's answer to
    it ("ask"), each sentence with the brain's tags."""
    def speak(request: LineRequest) -> Utterance:
        if request.kind == "ask":
            if chat is None:
                raise ValueError("no brain to answer questions")
            requests = [s.to_request(voice_name) for s in chat.reply(request.text)]
            said = " ".join(r.text for r in requests)  # the answer, as viewers hear it
        else:
            requests, said = list(requests_for(request.text)), request.text
        return Utterance.from_stream(said, request.kind, narrate(voice, requests))

    return speak


@dataclass
class BroadcastSummary:
    seconds: float  # stream time made (the timeline's clock)
    frames: int
    frames_sent: int
    lines: int  # utterances started
    connections: int
    wall: float
    cpu: float  # process CPU seconds over the run (all threads)
    max_late: float  # most the stream fell behind the wall clock, in seconds


class BroadcastHost:
    def __init__(self, timeline: Timeline, renderer, sender: RtmpSender, speaker: Speaker,
                 pause: float = PAUSE_SECONDS, realtime: bool = True, say: Callable[[str], None] = print) -> None:
        self.timeline, self.renderer, self.sender, self.speaker = timeline, renderer, sender, speaker
        self.pause, self.realtime, self.say = pause, realtime, say
        self.lines = 0
        self.max_late = 0.0
        self.started = time.time()
        self.stop = threading.Event()
        try:
            import cv2
        except ImportError:
            cv2 = None
        self._cv2 = cv2

    def status(self) -> dict:
        """What the control endpoint's GET /status shows."""
        t = self.timeline
        return {"connected": self.sender.connected.is_set(), "connections": self.sender.connections,
                "stream_seconds": round(t.now, 3), "frames": t.index, "frames_sent": self.sender.frames_sent,
                "encoder_waits": self.sender.waits, "lines_started": self.lines, "queued": len(self.speaker.queue),
                "speaking": t.current.text if t.current is not None else None, "failed_lines": self.speaker.failed,
                "max_late_seconds": round(self.max_late, 3), "last_error": self.sender.error}

    def run(self, duration: float | None = None, until_script_ends: bool = False) -> BroadcastSummary:
        """Stream until `stop` is set, `duration` seconds of stream are made, or (with
        `until_script_ends`) every line has been said."""
        t = self.timeline
        wall0, cpu0 = time.monotonic(), time.process_time()
        last_report = 0.0
        while not self.stop.is_set():
            if duration is not None and t.now >= duration:
                break
            connected = self.sender.connected.is_set() or not self.realtime
            if not t.speaking and connected and (self.lines == 0 or t.silent_for >= self.pause):
                if (utterance := self.speaker.take()) is not None:
                    t.start(utterance)
                    self.lines += 1
                    self.say(f"[{t.now:9.2f} s] {utterance.source}: {utterance.text[:80]}")
                elif until_script_ends and self.speaker.exhausted and t.silent_for >= self.pause:
                    break
            tick = t.tick()
            if self.realtime:
                late = time.monotonic() - wall0 - tick.index / t.fps
                if late < 0:
                    time.sleep(-late)
                self.max_late = max(self.max_late, late)
                if late > LATE_REPORT_SECONDS and time.monotonic() - last_report > 10:
                    self.say(f"falling behind real time by {late:.1f} s (the CPU is too busy)")
                    last_report = time.monotonic()
            elif not self.sender.connected.wait(30):
                raise RuntimeError(f"the sender could not open {self.sender.url}: {self.sender.error}")
            if self.sender.connected.is_set():
                image = self.renderer.render(tick.face)
                self.sender.submit(MediaJob(tick.index, self._i420(image), tick.samples))
        return BroadcastSummary(t.now, t.index, self.sender.frames_sent, self.lines, self.sender.connections,
                                time.monotonic() - wall0, time.process_time() - cpu0, self.max_late)

    def _i420(self, image):
        if self._cv2 is not None:
            return self._cv2.cvtColor(image, self._cv2.COLOR_RGB2YUV_I420)
        import av  # the slower swscale conversion does the same

        return av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p").to_ndarray()
