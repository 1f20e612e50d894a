"""The voice interface: one sentence in, a stream of audio chunks with timed phonemes and words out."""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator

import numpy as np

from visage.core.timing import attach_words, mark_emphasised_words
from visage.core.types import SpeechChunk, SpeechRequest
from visage.errors import BackendError

log = logging.getLogger(__name__)

# Chunk length for voices that produce a whole sentence at once: small enough that downstream
# stages (motion, video) start quickly, large enough that per-chunk overhead stays negligible.
CHUNK_SECONDS = 0.04


class TTSBackend(ABC):
    """A voice. `stream` speaks one sentence; times in its chunks start at 0 for that sentence.

    Subclasses load models in `load()` (called once, lazily), never at import.
    """

    name: str = "tts"

    def load(self) -> None:
        """Load models or check connectivity; raise BackendError with a fix if impossible."""

    @abstractmethod
    def stream(self, request: SpeechRequest) -> Iterator[SpeechChunk]:
        """Yield the sentence's audio in order, with the phonemes and words finished by each chunk."""

    def languages(self) -> list[str]:
        """Language codes this voice accepts."""
        return []

    def voices(self, language: str | None = None) -> list[str]:
        """Voice names this backend offers (for a language, when given)."""
        return []


class UntimedTTSBackend(TTSBackend):
    """A voice that returns whole audio without timings (HTTP services, ONNX models, recordings).

    Its timings come from an aligner run on the audio and the text, so that its speech drives the face
    like the embedded voice does. The aligner is chosen by whoever composes the voice (`create_tts`
    gives the default one), not here: voices and aligners are sibling kinds and neither imports the other.
    """

    def __init__(self, aligner=None) -> None:
        self.aligner = aligner  # anything with visage.backends.align.Aligner's align()

    @abstractmethod
    def synthesize(self, request: SpeechRequest) -> tuple[np.ndarray, int]:
        """Return (mono float32 samples, sample rate) for the sentence."""

    def stream(self, request: SpeechRequest) -> Iterator[SpeechChunk]:
        if self.aligner is None:
            raise BackendError(f"the {self.name} voice has no aligner for its timings; build it with "
                               "visage.backends.tts.create_tts, which gives it one")
        samples, rate = self.synthesize(request)
        alignment = self.aligner.align(samples, rate, request.text, request.language)
        words = mark_emphasised_words(tuple(alignment.words), request.text, request.emphasis)
        yield from chunk_audio(samples, rate, attach_words(tuple(alignment.phonemes), words), words)


def chunk_audio(samples: np.ndarray, rate: int, phonemes: tuple, words: tuple) -> Iterator[SpeechChunk]:
    """Cut known audio into CHUNK_SECONDS chunks, attaching each event to the chunk where it ends."""
    step = max(1, int(rate * CHUNK_SECONDS))
    n = len(samples)
    p_i = w_i = 0
    for begin in range(0, max(n, 1), step):
        end_t = min(n, begin + step) / rate
        last = begin + step >= n
        p_next = p_i
        while p_next < len(phonemes) and (last or phonemes[p_next].end <= end_t):
            p_next += 1
        w_next = w_i
        while w_next < len(words) and (last or words[w_next].end <= end_t):
            w_next += 1
        yield SpeechChunk(
            samples=samples[begin : begin + step].astype(np.float32, copy=False),
            sample_rate=rate,
            start=begin / rate,
            phonemes=phonemes[p_i:p_next],
            words=words[w_i:w_next],
        )
        p_i, w_i = p_next, w_next
