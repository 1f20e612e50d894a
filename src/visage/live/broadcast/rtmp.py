"""The stream's way out: FLV (H.264 + AAC) to an RTMP server, on a thread that reconnects when it fails.

Why these choices: RTMP ingest (nginx-rtmp, SRS, OBS, YouTube, Twitch) takes FLV with H.264 and AAC;
x264's "ultrafast" preset with "zerolatency" (no B-frames, no look-ahead) keeps a 512 px stream at a few
per cent of a core and the delay at one frame; a keyframe every 2 s is what platforms ask for and what
lets a viewer (or a reconnected server) start within 2 s; stereo 48 kHz AAC is the ingest norm.
Each connection is a new publish session with timestamps from 0 (`FlvConnection`); the sender rebases
the timeline's counts onto it, so every session is a clean constant-frame-rate stream.
"""
from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from visage.errors import InputError, require

KEYFRAME_SECONDS = 2  # platforms' ingest guidance: a keyframe at least every 2-4 s
VIDEO_BIT_RATE = 1_500_000  # bit/s at 512 px: clean for a mostly still face, light for any uplink
AUDIO_BIT_RATE = 128_000  # stereo AAC-LC, the usual ingest figure
BACKOFF_FIRST, BACKOFF_CAP = 0.5, 10.0  # s: reconnect waits double from the first to the cap
STABLE_SECONDS = 10.0  # a connection that lived this long resets the backoff
QUEUE_SECONDS = 2  # ticks waiting for the encoder: a network hiccup this long is absorbed
_AV_SMPTE170M, _AV_RANGE_MPEG = 6, 1  # BT.601 limited range: what cv2's I420 conversion makes


def check_url(url: str) -> str:
    """An RTMP ingest URL (rtmp:// or rtmps://, with a host), or a clear error."""
    if not re.match(r"^rtmps?://[^/\s]+(/\S*)?$", url or ""):
        raise InputError(f"--rtmp expects an RTMP URL such as rtmp://127.0.0.1/live/KEY, got {url!r}")
    return url


def redact(url: str) -> str:
    """The URL without its stream key (the last path part), fit for logs: keys are secrets."""
    head, sep, _key = url.rpartition("/")
    return f"{head}/***" if sep and head.count("/") >= 3 else url


@dataclass(frozen=True)
class StreamFormat:
    size: int
    fps: int
    rate: int  # audio samples per second
    video_bit_rate: int = VIDEO_BIT_RATE
    audio_bit_rate: int = AUDIO_BIT_RATE


@dataclass(frozen=True)
class MediaJob:
    """One frame to send: its index on the timeline, the picture as I420 planes, its audio block."""

    index: int
    yuv: np.ndarray  # (size * 3 / 2, size) uint8
    samples: np.ndarray  # mono float32, rate / fps of them


class FlvConnection:
    """One publish session to `url` (an RTMP URL, or a file path for tests and recording)."""

    def __init__(self, url: str, fmt: StreamFormat) -> None:
        self._av = av = require("av", "broadcast", "portrait")
        self.fmt = fmt
        self._container = av.open(url, "w", format="flv")
        try:
            v = self._video = self._container.add_stream("libx264", rate=fmt.fps)
            v.width = v.height = fmt.size
            v.pix_fmt = "yuv420p"
            ctx = v.codec_context
            ctx.bit_rate = fmt.video_bit_rate
            ctx.gop_size = KEYFRAME_SECONDS * fmt.fps
            ctx.options = {"preset": "ultrafast", "tune": "zerolatency", "maxrate": str(fmt.video_bit_rate),
                           "bufsize": str(fmt.video_bit_rate), "sc_threshold": "0"}
            ctx.thread_count = 1  # one core's share: the renderer and the voice need the others
            ctx.color_primaries = ctx.color_trc = ctx.colorspace = _AV_SMPTE170M
            ctx.color_range = _AV_RANGE_MPEG
            a = self._audio = self._container.add_stream("aac", rate=fmt.rate, layout="stereo")
            a.bit_rate = fmt.audio_bit_rate
            self._container.start_encoding()  # connects and sends the header now, so failures show here
        except BaseException:
            self.close(flush=False)
            raise
        self.base: int | None = None  # the timeline index of this session's first frame

    def send(self, job: MediaJob) -> None:
        av = self._av
        if self.base is None:
            self.base = job.index
        n = job.index - self.base
        frame = av.VideoFrame.from_ndarray(job.yuv, format="yuv420p")
        frame.pts, frame.time_base = n, Fraction(1, self.fmt.fps)
        self._container.mux(self._video.encode(frame))
        stereo = np.repeat(np.clip(job.samples, -1.0, 1.0), 2)[None, :]
        audio = av.AudioFrame.from_ndarray(stereo, format="flt", layout="stereo")
        audio.sample_rate, audio.time_base = self.fmt.rate, Fraction(1, self.fmt.rate)
        audio.pts = n * len(job.samples)
        self._container.mux(self._audio.encode(audio))

    def close(self, flush: bool = True) -> None:
        """Finish the session (flush both encoders, write the trailer); a broken one just closes."""
        try:
            if flush:
                self._container.mux(self._video.encode(None))
                self._container.mux(self._audio.encode(None))
        except Exception:  # noqa: BLE001 - the server may be gone; closing must still happen
            pass
        try:
            self._container.close()
        except Exception:  # noqa: BLE001
            pass


class RtmpSender:
    """Sends `MediaJob`s to `url` on its own thread; connects, and reconnects with capped exponential
    backoff whenever the server refuses or goes away, telling `say` (stderr in the CLI) each time.
    While it is not connected `submit` refuses jobs at once, so the caller's clock never waits on it."""

    def __init__(self, url: str, fmt: StreamFormat, say: Callable[[str], None] = print,
                 backoff: tuple[float, float] = (BACKOFF_FIRST, BACKOFF_CAP)) -> None:
        self.url, self.fmt, self.say, self.backoff = url, fmt, say, backoff
        self._jobs: queue.Queue = queue.Queue(maxsize=QUEUE_SECONDS * fmt.fps)
        self._stop = threading.Event()
        self.connected = threading.Event()
        self.connections = 0  # sessions opened (1 + reconnects)
        self.frames_sent = 0
        self.waits = 0  # times the caller waited 0.1 s on a full queue (the encoder or network behind)
        self.error: str | None = None  # the last failure, for the status endpoint
        self._thread = threading.Thread(target=self._run, name="visage-broadcast-sender", daemon=True)

    def start(self) -> "RtmpSender":
        self._thread.start()
        return self

    def submit(self, job: MediaJob) -> bool:
        """Queue a frame for sending; False (and nothing queued) while not connected. A full queue
        (the encoder or the network behind) makes the caller wait: the stream gets late, it never has
        a hole; the wait ends when the connection does."""
        while self.connected.is_set():
            try:
                self._jobs.put(job, timeout=0.1)
                return True
            except queue.Full:
                self.waits += 1
        return False

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued, finish the session and stop the thread."""
        self._stop.set()
        self._jobs.put(None)
        self._thread.join(timeout)

    # -- the sender's thread ----------------------------------------------------------------------
    def _run(self) -> None:
        delay = self.backoff[0]
        while not self._stop.is_set():
            try:
                connection = FlvConnection(self.url, self.fmt)
            except Exception as exc:  # noqa: BLE001 - refused, unreachable, bad key: try again later
                self.error = _reason(exc)
                self.say(f"cannot reach {redact(self.url)} ({self.error}); retrying in {delay:.1f} s")
                if self._stop.wait(delay):
                    return
                delay = min(delay * 2, self.backoff[1])
                continue
            self.connections += 1
            began = time.monotonic()
            self.say(f"{'reconnected to' if self.connections > 1 else 'streaming to'} {redact(self.url)}")
            self._drain()  # a frame queued as the last connection died belongs to no session
            self.connected.set()
            lost = self._pump(connection)
            self.connected.clear()
            connection.close(flush=not lost)
            self._drain()
            if not lost:
                return
            if time.monotonic() - began > STABLE_SECONDS:
                delay = self.backoff[0]
            self.say(f"lost the connection to {redact(self.url)} ({self.error}); reconnecting in {delay:.1f} s")
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, self.backoff[1])

    def _pump(self, connection: FlvConnection) -> bool:
        """Send jobs until the end (False) or a failure (True)."""
        while True:
            job = self._jobs.get()
            if job is None:
                return False
            try:
                connection.send(job)
                self.frames_sent += 1
            except Exception as exc:  # noqa: BLE001 - the server went away (EPIPE, reset, timeout)
                self.error = _reason(exc)
                return True

    def _drain(self) -> None:
        while True:
            try:
                self._jobs.get_nowait()
            except queue.Empty:
                return


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text.split(": '")[0]  # PyAV appends the URL, key included
