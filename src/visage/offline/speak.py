"""Text to a WAV file and its timings, streamed sentence by sentence (the offline voice path)."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from visage.backends.tts.base import TTSBackend
from visage.backends.tts.narration import narrate
from visage.core.audio import RIFF_LIMIT, WavWriter
from visage.core.types import Sentence, SpeechChunk, SpeechRequest
from visage.errors import InputError
from visage.offline.files import AtomicPath, TimingsWriter, check_outputs


@dataclass(frozen=True)
class SpeechFileSummary:
    wav_path: Path
    timings_path: Path | None
    duration: float
    sentences: int
    sample_rate: int


def speak_to_files(
    tts: TTSBackend,
    requests: Iterable[SpeechRequest],
    wav_path: str | os.PathLike,
    timings_path: str | os.PathLike | None = None,
    on_sentence: Callable[[Sentence], None] | None = None,
    riff_limit: int = RIFF_LIMIT,
) -> SpeechFileSummary:
    """Speak the requests into `wav_path` (16-bit mono) and, if asked, write their timings JSON.

    Memory stays bounded whatever the text's length: audio and timings are written as they stream, and
    a WAV that outgrows `riff_limit` (4 GiB) becomes RF64.
    Both paths are checked before any speech is made. If anything fails, neither file is left behind.
    """
    if Path(wav_path).suffix.lower() != ".wav":
        raise InputError(f"the audio must be a .wav file, got {Path(wav_path).name!r}")
    check_outputs([wav_path, timings_path])
    wav_out = AtomicPath(wav_path)
    wav: WavWriter | None = None
    timings: TimingsWriter | None = None
    sentences = 0
    try:
        for item in narrate(tts, requests):
            if isinstance(item, SpeechChunk):
                if wav is None:
                    wav = WavWriter(wav_out.tmp, item.sample_rate, riff_limit)
                    if timings_path is not None:
                        timings = TimingsWriter(timings_path, item.sample_rate)
                wav.write(item.samples)
                if timings is not None:
                    for p in item.phonemes:
                        timings.phoneme(p)
                    for w in item.words:
                        timings.word(w)
            elif item.end is not None:
                sentences += 1
                if timings is not None:
                    timings.sentence(item)
                if on_sentence is not None:
                    on_sentence(item)
        if wav is None:
            raise InputError("nothing to say: the text has no speakable words")
        wav.close()
        duration = wav.frames / wav.sample_rate
        timings_file = timings.commit(duration) if timings is not None else None
        return SpeechFileSummary(wav_out.commit(), timings_file, duration, sentences, wav.sample_rate)
    except BaseException:
        if wav is not None:
            wav.abort()
        wav_out.abort()
        if timings is not None:
            timings.abort()
        raise
