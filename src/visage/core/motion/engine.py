"""The motion engine: speech and its tags in, face frames out, streaming.

It follows the avatar-generator shape of livekit's agents (style.md): `run(stream)` takes the voice's
output and yields it back interleaved with the frames it allows, in time order, then an end-of-speech
marker and the face settling. Frames come out as soon as the input reaches `LOOK_AHEAD` past them. A
real-time player instead pushes speech in (`push`) and takes the frames its clock has reached
(`frames_until`); `clear()` interrupts.
Each layer sits behind its interface (models.py): lips, expression, head, life. The engine owns the
clock and composes them; it holds only a few seconds of speech, so it runs for hours.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from visage.core.motion.expression import RuleExpressionModel
from visage.core.motion.lips import CoarticulatedLips
from visage.core.motion.models import ExpressionModel, HeadPoseModel, LifeModel, LipModel
from visage.core.motion.style import MotionStyle, load_style
from visage.core.motion.track import SpeechTrack
from visage.core.types import ConversationState, FaceFrame, HeadPose, Sentence, SpeechChunk

LOOK_AHEAD = 0.2  # seconds of input needed beyond a frame (the goal: <= 200 ms)
HISTORY = 2.0  # seconds of speech kept behind the current frame
ALLOWED_FPS = (25, 30, 60)
TAIL_SECONDS = 0.5  # the face settles for this long after the last word


@dataclass(frozen=True)
class SpeechEnd:
    """In `MotionEngine.run`'s output, where the voice's stream ended: `duration` is the speech's
    length on the audio clock (0 when nothing was said); the frames after it finish the speech and
    let the face settle for the tail."""

    duration: float


class MotionEngine:
    """Turns a speech stream into FaceFrames at `fps` on the audio clock."""

    def __init__(
        self,
        fps: int = 25,
        style: MotionStyle | str = "friendly",
        seed: int = 0,
        lips: LipModel | None = None,
        expression: ExpressionModel | None = None,
        head: HeadPoseModel | None = None,
        life: LifeModel | None = None,
    ) -> None:
        if fps not in ALLOWED_FPS:
            raise ValueError(f"fps must be one of {ALLOWED_FPS}, got {fps}")
        self.fps = fps
        self.style = load_style(style) if isinstance(style, str) else style
        self.lips = lips or CoarticulatedLips(self.style)
        self.expression = expression or RuleExpressionModel(self.style, fps)
        if head is None:
            from visage.core.motion.head import RuleHeadPoseModel

            head = RuleHeadPoseModel(self.style, fps, seed=seed)
        if life is None:
            from visage.core.motion.life import RuleLifeModel

            life = RuleLifeModel(self.style, fps, seed=seed)
        self.head, self.life = head, life
        self.track = SpeechTrack()
        self.state = ConversationState.IDLE
        self._frame_index = 0

    @property
    def next_time(self) -> float:
        return self._frame_index / self.fps

    # -- input ------------------------------------------------------------------------------------
    def push(self, item: SpeechChunk | Sentence) -> None:
        """Feed the voice's stream: sentences (as they start and end) and audio chunks."""
        if isinstance(item, Sentence):
            self.track.add_sentence(item)
        else:
            if self.track.ended:
                self.track.resume()
            self.track.add_chunk(item)
        self.state = ConversationState.SPEAKING

    def end_of_speech(self) -> None:
        """The reply is complete: every frame up to its end can be made."""
        self.track.end()

    def set_state(self, state: ConversationState) -> None:
        self.state = state

    def clear(self) -> None:
        """Interruption: drop speech not yet shown; the face eases back to rest from where it is."""
        self.track.cut(self.next_time)
        self.track.end()
        self.lips.reset()
        self.head.reset()
        self.life.reset()
        self.state = ConversationState.LISTENING

    # -- output -----------------------------------------------------------------------------------
    def run(
        self, stream: Iterable[SpeechChunk | Sentence], tail: float = TAIL_SECONDS,
    ) -> Iterator[FaceFrame | SpeechChunk | Sentence | SpeechEnd]:
        """The streaming loop over a voice's output: yield each item of `stream` as it arrives, then
        the frames it lets the engine make; when the stream ends, a `SpeechEnd` with the speech's
        duration, the remaining frames, and `tail` seconds of the face settling. Frames are made one
        per step, so a consumer can time them apart from the voice, and one that stops at `SpeechEnd`
        (nothing was said) makes none of the tail."""
        for item in stream:
            yield item
            self.push(item)
            yield from self._frames_to(self._input_limit())
        duration = self.track.horizon
        yield SpeechEnd(duration)
        self.end_of_speech()
        yield from self._frames_to(self._input_limit())
        yield from self._frames_to(duration + tail)

    def frames(self, until: float | None = None) -> list[FaceFrame]:
        """Every frame the input now allows (see `_input_limit`), or up to `until` if that is sooner."""
        limit = self._input_limit()
        return list(self._frames_to(limit if until is None else min(limit, until)))

    def frames_until(self, t: float) -> list[FaceFrame]:
        """Frames up to `t` whatever the input: for a real-time player, which makes frames as its clock
        reaches them (input that lags, between replies or from a slow voice, never freezes the face)."""
        return list(self._frames_to(t))

    def _input_limit(self) -> float:
        """How far frames can go: LOOK_AHEAD seconds of timed speech must be known past a frame (a
        voice reports a phoneme once the next one starts), or the speech must have ended."""
        track = self.track
        return track.horizon if track.ended else min(track.horizon, track.events_horizon) - LOOK_AHEAD

    def _frames_to(self, limit: float) -> Iterator[FaceFrame]:
        while self.next_time <= limit + 1e-9:
            yield self._make_frame(self.next_time)

    def _make_frame(self, t: float) -> FaceFrame:
        if self.state == ConversationState.SPEAKING and self.track.ended and t > self.track.horizon + 0.3:
            self.state = ConversationState.IDLE
        mouth = self.lips.weights(t, self.track)
        face = self.expression.weights(t, self.track, self.state)
        life = self.life.frame(t, self.track, self.state)
        pose = self.head.pose(t, self.track, self.state)
        blendshapes = face + mouth + life.blendshapes  # a new array: clipped in place
        blendshapes = np.clip(blendshapes, 0.0, 1.0, out=blendshapes).astype(np.float32, copy=False)
        offset, s = life.head_offset, self.style
        head = HeadPose(
            pitch=_clamp(pose.pitch + offset.pitch, s.max_pitch), yaw=_clamp(pose.yaw + offset.yaw, s.max_yaw),
            roll=_clamp(pose.roll + offset.roll, s.max_roll), x=pose.x + offset.x,
            y=pose.y + offset.y, z=pose.z + offset.z,
        )
        self._frame_index += 1
        if self._frame_index % self.fps == 0:
            self.track.forget_before(t - HISTORY)
        return FaceFrame(t=t, blendshapes=blendshapes, head=head, gaze=life.gaze)


def _clamp(value: float, limit: float) -> float:
    """`value` within +-`limit` (plain floats: np.clip on one number costs microseconds)."""
    return -limit if value < -limit else (limit if value > limit else value)


def animate(
    stream: Iterable[SpeechChunk | Sentence], fps: int = 25, style: MotionStyle | str = "friendly", seed: int = 0,
    tail: float = TAIL_SECONDS,
) -> Iterator[FaceFrame]:
    """Frames for a whole speech stream, yielded as soon as the stream allows, with `tail` seconds
    of the face settling after the last word."""
    engine = MotionEngine(fps=fps, style=style, seed=seed)
    for item in engine.run(stream, tail):
        if isinstance(item, FaceFrame):
            yield item
