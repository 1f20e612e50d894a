"""The avatar's output on one clock: speech scheduled ahead, audio and video made as playback reaches it.

Everything the avatar says is placed on the output clock (seconds since the session started) a little
ahead of now. The audio ring holds those samples at their times; the video side feeds the same items
to the motion engine and renders whatever frame the clock has reached. Both tracks read from here, so
lips and voice are together by construction; when the CPU falls behind, video frames are skipped to
catch up with the clock (a lower frame rate), never delayed (drift).
"""
from __future__ import annotations

import math
import queue
import threading
import time

import numpy as np

from visage.core.audio import resample
from visage.core.motion.engine import MotionEngine
from visage.core.types import ConversationState, FaceFrame, Sentence, SpeechChunk

AUDIO_RATE = 48000  # WebRTC's Opus runs at 48 kHz
AUDIO_PTIME = 0.02  # one audio frame (an RTP packet) of the voice track, in seconds
# s: speech is scheduled this far ahead of now. The voice makes its first 40 ms chunk in ~1 ms and a
# whole sentence in ~10 ms (README, performance), so the audio never runs dry and the motion engine
# has the sentence's phonemes (its 200 ms look-ahead) before the first frame of it is drawn.
LEAD = 0.03
# s: with a voice track that reads the ring 20 ms at a time, speech starts instead at the first frame
# it has not read yet, unless that frame is read in less than this (the reply's thread must place the
# samples first: a chunk's resampling and placing take well under a millisecond, a GIL hand-over up to
# Python's 5 ms switch interval). On average 10 ms after now against LEAD's 30.
PLACE_MARGIN = 0.01


class AudioRing:
    """Samples placed at times on the output clock; reads return silence where nothing was placed.

    Positions are absolute sample indices; the buffer holds the last `seconds` of them. Every access
    is one or two slices (two where it wraps round the buffer's end): the voice track reads 20 ms of
    every session 50 times a second, and an index array for each read cost more than the copy."""

    def __init__(self, rate: int = AUDIO_RATE, seconds: float = 120.0) -> None:
        self.rate = rate
        self._buf = np.zeros(int(rate * seconds), np.float32)
        self._lock = threading.Lock()
        self._written_until = 0  # absolute sample index after the last placed sample
        self._read_until = 0

    def _spans(self, start: int, n: int) -> list[tuple[int, int, int]]:
        """(buffer start, buffer end, offset into the data) for absolute samples [start, start + n)."""
        size = len(self._buf)
        spans, done = [], 0
        while done < n:
            i = (start + done) % size
            k = min(n - done, size - i)
            spans.append((i, i + k, done))
            done += k
        return spans

    def place(self, start: float, samples: np.ndarray) -> None:
        i = int(round(start * self.rate))
        with self._lock:
            i = max(i, self._read_until)  # never write into the past
            n = len(samples)
            lead = max(0, n - len(self._buf))  # longer than the ring: only its last lap survives
            for a, b, k in self._spans(i + lead, n - lead):
                self._buf[a:b] = samples[lead + k: lead + k + b - a]
            self._written_until = max(self._written_until, i + n)

    def read(self, start_index: int, n: int) -> np.ndarray:
        with self._lock:
            out = np.empty(n, np.float32)
            for a, b, k in self._spans(start_index, n):
                out[k:k + b - a] = self._buf[a:b]
                self._buf[a:b] = 0.0
            self._read_until = max(self._read_until, start_index + n)
            return out

    def clear_from(self, t: float) -> None:
        i = int(round(t * self.rate))
        with self._lock:
            end = self._written_until
            if end > i:
                for a, b, _ in self._spans(i, min(end - i, len(self._buf))):
                    self._buf[a:b] = 0.0
            self._written_until = min(end, i)

    @property
    def playing_until(self) -> float:
        return self._written_until / self.rate


class AvatarOutput:
    """Owns the motion engine and the renderer of one session; thread-safe `schedule` for producers.
    `renderer` is None when the browser draws the face: the frames are then sent, not rendered."""

    def __init__(self, engine: MotionEngine, renderer, fps: int) -> None:
        self.engine = engine
        self.renderer = renderer
        self.fps = fps
        self.audio = AudioRing()
        self.t0 = time.monotonic()
        self._items: queue.SimpleQueue = queue.SimpleQueue()
        self._clear = threading.Event()
        self._schedule_lock = threading.Lock()  # a stop never lands between a producer's check and its write
        self._frame: FaceFrame | None = None
        self.reply_start: float | None = None  # output time the current reply's speech begins
        self.first_speech_frame: float | None = None  # wall time its first frame was made
        self.frames_made = self.frames_skipped = 0
        # the output time up to which the voice track has read (frames of AUDIO_PTIME), once it reads
        self.audio_read: float | None = None
        self.engine.set_state(ConversationState.LISTENING)

    def now(self) -> float:
        return time.monotonic() - self.t0

    @property
    def playing_until(self) -> float:
        """Output time the scheduled speech has played to its end."""
        return self.audio.playing_until

    def begin_reply(self, start: float) -> None:
        """A reply's speech begins at output time `start`: time its first frame afresh (latency figures)."""
        self.reply_start, self.first_speech_frame = start, None

    def start_time(self) -> float:
        """Where the next reply may start: after what is already scheduled, and a little ahead of now:
        at the start of the next frame the voice track will read (with a track), so that the first
        sound is in the first packet sent with it, not a packet later."""
        now = self.now()
        earliest = now + LEAD
        if self.audio_read is not None:
            read_until = self.audio_read
            earliest = read_until + AUDIO_PTIME * max(0, math.ceil((now + PLACE_MARGIN - read_until) / AUDIO_PTIME))
        return max(earliest, self.audio.playing_until)

    def schedule(self, item: SpeechChunk | Sentence, offset: float,
                 cancel: threading.Event | None = None) -> bool:
        """Put a voice item (times from the reply's start) on the output clock at `offset`, unless
        `cancel` is set: checked under the same lock `interrupt` takes, so speech made just before a
        stop can never be placed just after it. Returns whether the item was scheduled."""
        with self._schedule_lock:
            if cancel is not None and cancel.is_set():
                return False
            self._place(item, offset)
            return True

    def _place(self, item: SpeechChunk | Sentence, offset: float) -> None:
        if isinstance(item, Sentence):
            from dataclasses import replace

            item = replace(item, start=item.start + offset, end=None if item.end is None else item.end + offset)
        else:
            item = item.shifted(offset)
            if len(item.samples):
                self.audio.place(item.start, resample(item.samples, item.sample_rate, AUDIO_RATE))
        self._items.put(item)

    def interrupt(self) -> None:
        """Stop speaking now: future audio is dropped, the face returns to listening."""
        with self._schedule_lock:
            self.audio.clear_from(self.now())
            self._clear.set()

    def set_state(self, state: ConversationState) -> None:
        self._items.put(state)

    # -- the video side (one caller: the video track) -------------------------------------------
    def has_input(self) -> bool:
        """Whether speech waits to be fed to the motion engine. Feeding it analyses the audio (pitch and
        loudness: about 10 ms per second of speech here, several times that under load), so a caller on
        an event loop makes that frame in a worker thread instead: a reply's first sentence arrives as
        one chunk of a second or more, and the loop would hold the audio packets for that long."""
        return not self._items.empty()

    def frame_at(self, t: float) -> FaceFrame:
        """The face at output time `t`, advancing the engine as far as its input allows."""
        engine = self.engine
        if self._clear.is_set():
            self._clear.clear()
            self._drain(discard=True)
            engine.clear()
        self._drain()
        # never ahead of the clock, so an interruption cuts right here; and never frozen: between
        # replies, or when the voice falls behind, the face goes on (listening, or holding the sound)
        frames = engine.frames_until(t)
        if engine.state == ConversationState.IDLE:
            engine.set_state(ConversationState.LISTENING)
        if frames:
            self._frame = frames[-1]
            if self.reply_start is not None and self.first_speech_frame is None and t >= self.reply_start:
                self.first_speech_frame = time.time()
        return self._frame if self._frame is not None else engine.frames_until(t)[-1]

    def _drain(self, discard: bool = False) -> None:
        while True:
            try:
                item = self._items.get_nowait()
            except queue.Empty:
                return
            if discard and not isinstance(item, ConversationState):
                continue
            if isinstance(item, ConversationState):
                self.engine.set_state(item)
            else:
                self.engine.push(item)

    def render(self, frame: FaceFrame) -> np.ndarray:
        if self.renderer is None:
            raise RuntimeError("this session's face is drawn by the browser: it has no renderer")
        self.frames_made += 1
        return self.renderer.render(frame)
