"""Speech to a talking-portrait video: MP4 (H.264 + AAC) with SRT and WebVTT subtitles and the motion.

One pass over the speech stream drives everything: each audio chunk goes to the video's audio track and
the motion engine, each frame the engine releases is rendered and encoded at once, each sentence that
ends becomes subtitle cues. Nothing waits for the whole text, so memory stays flat for an hour of speech.
All four files are written under temporary names and appear together only when everything succeeded.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from visage.backends.renderers.base import Renderer
from visage.core.motion.engine import TAIL_SECONDS, MotionEngine
from visage.core.motion.style import MotionStyle
from visage.core.types import FaceFrame, Sentence, SpeechChunk, Word
from visage.errors import InputError
from visage.offline.animate import MotionWriter
from visage.offline.subtitles import SubtitleWriter
from visage.offline.video import VideoWriter

STAGES = ("load", "voice", "motion", "render", "encode", "files")


@dataclass(frozen=True)
class SayOutputs:
    """Where a video's companions go: beside the MP4, with the same stem."""

    video: Path
    srt: Path
    vtt: Path
    motion: Path

    @classmethod
    def beside(cls, video: str | os.PathLike) -> "SayOutputs":
        video = Path(video)
        return cls(video, video.with_suffix(".srt"), video.with_suffix(".vtt"), video.with_suffix(".motion.json"))

    def all(self) -> tuple[Path, ...]:
        return (self.video, self.srt, self.vtt, self.motion)


@dataclass
class SaySummary:
    outputs: SayOutputs
    frames: int
    duration: float  # seconds of speech (the video runs TAIL_SECONDS longer, for the face to settle)
    sentences: int
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage (STAGES)
    encoder_seconds: float = 0.0  # the encoder thread's own time, overlapping the stages above
    encoder_cpu_seconds: float = 0.0  # the CPU time of that thread

    @property
    def wall(self) -> float:
        return sum(self.seconds.values())


class _Stopwatch:
    """Adds up wall time per stage, to show where the time of a video goes."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)
        self._stage, self._since = None, 0.0

    def __call__(self, stage: str) -> "_Stopwatch":
        now = time.perf_counter()
        if self._stage is not None:
            self.seconds[self._stage] += now - self._since
        self._stage, self._since = stage, now
        return self

    def took(self, stage: str) -> None:
        """Charge the time since the last mark to `stage` (for work whose kind shows only once done)."""
        now = time.perf_counter()
        self.seconds[stage] += now - self._since
        self._stage, self._since = stage, now

    def stop(self) -> None:
        if self._stage is not None:
            self.seconds[self._stage] += time.perf_counter() - self._since
        self._stage = None


def say_to_files(
    stream: Iterable[SpeechChunk | Sentence],
    out_mp4: str | os.PathLike,
    renderer: Renderer,
    fps: int = 25,
    style: MotionStyle | str = "friendly",
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
) -> SaySummary:
    """Render a speech stream into `out_mp4` and write `.srt`, `.vtt` and `.motion.json` beside it.

    `progress(t)` is called with the time of the last frame made. On any failure, interruption
    included, none of the four files is left behind, complete or not.
    """
    outputs = SayOutputs.beside(out_mp4)
    if outputs.video.suffix.lower() != ".mp4":
        raise InputError(f"the video must be an .mp4 file, got {outputs.video.name!r}")
    watch = _Stopwatch()
    engine = MotionEngine(fps=fps, style=style, seed=seed)  # checks fps and style before any file is made
    writers: list = []
    video: VideoWriter | None = None
    committed: list[Path] = []
    try:
        motion = MotionWriter(outputs.motion, fps)
        writers.append(motion)
        srt, vtt = SubtitleWriter(outputs.srt), SubtitleWriter(outputs.vtt)
        writers += [srt, vtt]
        watch("load")
        renderer.load()
        frames = sentences = 0
        duration = 0.0
        words: dict[int, list[Word]] = {}
        watch("voice")
        for item in engine.run(stream, TAIL_SECONDS):
            # what the step just taken did: make a frame (motion), or speak (the voice)
            watch.took("motion" if isinstance(item, FaceFrame) else "voice")
            if isinstance(item, FaceFrame):
                watch("files")
                motion.frame(item)
                watch("render")
                image = renderer.render(item)
                watch("encode")
                video.write_frame(image, item.t)
                frames += 1
                if progress is not None:
                    watch("files")
                    progress(item.t)
            elif isinstance(item, SpeechChunk):
                watch("encode")
                if video is None:
                    video = VideoWriter(outputs.video, renderer.size, fps, item.sample_rate)
                if len(item.samples):
                    video.write_audio(item.samples, item.start, item.sample_rate)
                watch("files")
                motion.chunk(item)
                for w in item.words:
                    words.setdefault(w.sentence, []).append(w)
            elif isinstance(item, Sentence):
                watch("files")
                motion.sentence(item)
                if item.end is not None:
                    sentences += 1
                    said = words.pop(item.index, [])
                    srt.sentence(item, said)
                    vtt.sentence(item, said)
            elif video is None or item.duration <= 0:
                raise InputError("nothing to say: the speech stream had no audio")
            else:
                duration = item.duration
        watch("encode")
        committed.append(video.close())
        watch("files")
        for writer in writers:
            committed.append(writer.commit())
        watch.stop()
        return SaySummary(outputs, frames, duration, sentences, watch.seconds, video.encoder_seconds,
                          video.encoder_cpu_seconds)
    except BaseException:
        for writer in [video, *writers] if video is not None else writers:  # a committed one just tidies up
            try:
                writer.abort()
            except Exception:  # noqa: BLE001 - keep cleaning up; the first error is the one to report
                pass
        for path in committed:
            path.unlink(missing_ok=True)
        raise
