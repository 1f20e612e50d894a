"""Recordings to transcripts with word timings (`visage transcribe`, `say --audio` without `--text`).

One recogniser serves every file (Whisper base loads in seconds; per file it costs about half the
recording's duration on two cores, beam search and word timings included). A file that cannot be
read or recognised is reported as such and the others go on.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from visage.backends.asr.base import SAMPLE_RATE, RecordingTranscript, SpeechRecognizer
from visage.errors import InputError, VisageError


@dataclass(frozen=True)
class FileResult:
    """One file's transcript, or the reason there is none (`error`)."""

    path: str
    transcript: RecordingTranscript | None = None
    error: str | None = None


def read_speech(path: str | os.PathLike) -> np.ndarray:
    """A recording as 16 kHz mono float32: WAV read directly, other formats (MP3, M4A, OGG, video)
    through PyAV (faster-whisper's own dependency) when it is installed."""
    from visage.core.audio import read_wav, resample

    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    if path.suffix.lower() == ".wav":
        samples, rate = read_wav(path)
        return resample(samples, rate, SAMPLE_RATE).astype(np.float32)
    try:
        from faster_whisper.audio import decode_audio
    except ImportError:
        raise InputError(f"{path.name}: only WAV files can be read without PyAV (pip install av)") from None
    try:
        return decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    except Exception as exc:  # PyAV's errors: not audio, damaged, no audio stream
        raise InputError(f"{path.name} is not a readable audio file ({exc})") from None


def transcribe_file(recognizer: SpeechRecognizer, path: str | os.PathLike,
                    language: str | None = "en") -> RecordingTranscript:
    samples = read_speech(path)
    if len(samples) < SAMPLE_RATE // 10:
        raise InputError(f"{Path(path).name} holds less than 0.1 s of audio")
    return recognizer.transcribe_recording(samples, language)


def transcribe_files(recognizer: SpeechRecognizer, paths: Iterable[str],
                     language: str | None = "en") -> Iterator[FileResult]:
    """Each file's result in order; failures become results with an error, never an exception."""
    for path in paths:
        try:
            yield FileResult(str(path), transcribe_file(recognizer, path, language))
        except VisageError as exc:
            yield FileResult(str(path), error=str(exc))


def transcript_record(result: FileResult) -> dict:
    """The JSON form of a result (one object per file)."""
    if result.transcript is None:
        return {"file": result.path, "error": result.error}
    t = result.transcript
    return {"file": result.path, "language": t.language, "duration": t.duration, "text": t.text,
            "words": [{"text": w.text, "start": w.start, "end": w.end, "probability": w.probability}
                      for w in t.words]}


def transcript_of_recording(samples: np.ndarray, rate: int, language: str = "en") -> str:
    """What is said in a recording, for `say --audio` and `animate --audio` without `--text`: the
    default recogniser's transcript, which the aligner then times as if the user had typed it."""
    from visage.backends.asr import create_asr
    from visage.core.audio import resample

    recognizer = create_asr()
    try:
        text = recognizer.transcribe_recording(resample(samples, rate, SAMPLE_RATE).astype(np.float32), language).text
    finally:
        recognizer.close()
    if not text.strip():
        raise InputError("no words were recognised in the recording: --audio then needs --text with what is "
                         "said in it")
    return text
