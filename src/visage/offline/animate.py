"""Speech to a motion file (ARKit-52 + head pose + gaze per frame), streamed: the offline motion path.

The speech comes from the voice (text) or from a recording and its transcript (through the aligner).
`motion.json` is one JSON object; `.jsonl` is JSON Lines, one record per line as frames are made, for
clients that want to start playing before the file is complete: each line has a "kind" (header, frame,
phoneme, word, sentence) and that record's fields.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from visage.backends.tts.base import chunk_audio
from visage.core.arkit import BLENDSHAPE_NAMES
from visage.core.audio import WavWriter
from visage.core.motion.engine import TAIL_SECONDS, MotionEngine
from visage.core.motion.style import MotionStyle
from visage.core.motion.visemes import viseme_of
from visage.core.records import frame_record, phoneme_record, sentence_record, word_record
from visage.core.text import clean_text, sentence_type_of
from visage.core.timing import attach_words, mark_emphasised_words
from visage.core.types import FaceFrame, Sentence, SpeechChunk, SpeechRequest
from visage.errors import InputError
from visage.offline.files import AtomicPath, SpooledJsonWriter


@dataclass(frozen=True)
class MotionSummary:
    motion_path: Path
    frames: int
    duration: float
    sentences: int


def recording_stream(samples: np.ndarray, rate: int, request: SpeechRequest, aligner) -> Iterator[SpeechChunk | Sentence]:
    """A recorded utterance as a speech stream: timings from the aligner, tags from the request."""
    text = clean_text(request.text)
    if not text:
        raise InputError("the transcript (--text) is empty: the aligner needs the words that were said")
    if len(samples) < rate * 0.2:
        raise InputError("the recording is shorter than 0.2 s")
    alignment = aligner.align(samples, rate, text, request.language)
    sentence = Sentence(0, text, 0.0, None, tags=replace(request.tags, sentence_type=sentence_type_of(text)))
    yield sentence
    words = mark_emphasised_words(tuple(alignment.words), text, request.emphasis)
    yield from chunk_audio(samples, rate, attach_words(tuple(alignment.phonemes), words), words)
    yield replace(sentence, end=len(samples) / rate)


class MotionWriter:
    """Writes motion as JSON (one object, lists spooled) or JSON Lines (a record per line)."""

    def __init__(self, path: str | os.PathLike, fps: int) -> None:
        self.path = Path(path)
        self.fps = fps
        self.lines = self.path.suffix == ".jsonl"
        if self.lines:
            self._atomic = AtomicPath(path)
            self._file = open(self._atomic.tmp, "w", encoding="utf-8")
            self._write_line({"kind": "header", "fps": fps, "blendshape_names": list(BLENDSHAPE_NAMES)})
        else:
            self._json = SpooledJsonWriter(path, ("frames", "phonemes", "words", "sentences"))

    def _write_line(self, record: dict) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")

    def _add(self, kind: str, record: dict) -> None:
        if self.lines:
            self._write_line({"kind": kind, **record})
        else:
            self._json.append(kind + "s", record)

    def frame(self, f: FaceFrame) -> None:
        self._add("frame", frame_record(f))

    def chunk(self, c: SpeechChunk) -> None:
        for p in c.phonemes:
            self._add("phoneme", phoneme_record(p, viseme_of(p.symbol)))
        for w in c.words:
            self._add("word", word_record(w))

    def sentence(self, s: Sentence) -> None:
        if s.end is not None:
            self._add("sentence", sentence_record(s))

    def commit(self) -> Path:
        if self.lines:
            self._file.close()
            return self._atomic.commit()
        return self._json.commit({"fps": self.fps, "blendshape_names": list(BLENDSHAPE_NAMES)})

    def abort(self) -> None:
        if self.lines:
            self._file.close()
            self._atomic.abort()
        else:
            self._json.abort()


def animate_to_file(
    stream: Iterable[SpeechChunk | Sentence],
    motion_path: str | os.PathLike,
    fps: int = 25,
    style: MotionStyle | str = "friendly",
    seed: int = 0,
    wav_path: str | os.PathLike | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> MotionSummary:
    """Run the motion engine over a speech stream, writing frames (and the audio, if asked) as they come."""
    engine = MotionEngine(fps=fps, style=style, seed=seed)
    writer = MotionWriter(motion_path, fps)
    wav_out = AtomicPath(wav_path) if wav_path else None
    wav: WavWriter | None = None
    frames = sentences = 0
    duration = 0.0
    try:
        for item in engine.run(stream, TAIL_SECONDS):
            if isinstance(item, FaceFrame):
                writer.frame(item)
                frames += 1
                if on_progress:
                    on_progress(item.t)
            elif isinstance(item, SpeechChunk):
                writer.chunk(item)
                if wav_out is not None and len(item.samples):
                    wav = wav or WavWriter(wav_out.tmp, item.sample_rate)
                    wav.write(item.samples)
            elif isinstance(item, Sentence):
                writer.sentence(item)
                sentences += item.end is not None
            elif item.duration <= 0:
                raise InputError("nothing to animate: the speech stream was empty")
            else:
                duration = item.duration
        path = writer.commit()
        if wav is not None and wav_out is not None:
            wav.close()
            wav_out.commit()
        return MotionSummary(path, frames, duration, sentences)
    except BaseException:
        writer.abort()
        if wav is not None:
            wav.close()
        if wav_out is not None:
            wav_out.abort()
        raise
