"""Aligners: audio plus its text in, timed phonemes and words out.

Voices that return bare audio (HTTP services, ONNX models, recordings) get their timings here, so that
their speech drives the face like the embedded voice does. Two strategies sit behind one method:
`pocketsphinx` (an English acoustic model, ARPAbet phones) and `dtw` (any language espeak speaks:
the text is spoken by espeak, whose timings are exact, and warped onto the audio). `default_aligner()`
picks per language.
"""
from __future__ import annotations

import logging
import math
import threading
from abc import ABC, abstractmethod

import numpy as np

from visage.backends.registry import Registry
from visage.core.types import Alignment, Phoneme, Word
from visage.errors import InputError, MissingExtraError

log = logging.getLogger(__name__)

# Shorter audio cannot hold a word; quieter audio (peak below -80 dBFS) holds no speech.
MIN_AUDIO_SECONDS = 0.05
SILENCE_PEAK = 1e-4

PAUSE = "_"


class Aligner(ABC):
    """Finds when each phoneme and word of `text` is spoken in `samples`.

    Times are seconds from the first sample. Subclasses load models in `load()` (once, lazily).
    """

    name: str = "aligner"

    def load(self) -> None:
        """Load models; raise BackendError (or MissingExtraError) with a fix if impossible."""

    @abstractmethod
    def align(self, samples: np.ndarray, sample_rate: int, text: str, language: str = "en") -> Alignment:
        """Return the phonemes and words of `text` timed on `samples` (mono float32)."""


registry: Registry[Aligner] = Registry("aligner", __name__, ("dtw", "pocketsphinx"))


def create_aligner(name: str = "auto", **options) -> Aligner:
    """Build a registered aligner by name ("auto", "pocketsphinx", "dtw")."""
    return registry.create(name, **options)


def aligner_names() -> list[str]:
    return registry.names()


def is_english(language: str) -> bool:
    code = (language or "en").strip().lower().replace("_", "-")
    return code in ("en", "english") or code.startswith("en-")


@registry.register("auto")
class AutoAligner(Aligner):
    """pocketsphinx for English when it is installed (its bundled model is en-US only), DTW otherwise.

    The DTW aligner is the fallback for every language, so a missing extra costs accuracy, not function.
    """

    name = "auto"

    def __init__(self, **_options) -> None:
        self._english: Aligner | None = None
        self._other: Aligner | None = None
        self._lock = threading.Lock()

    def _for(self, language: str) -> Aligner:
        with self._lock:
            return self._choose(language)

    def _choose(self, language: str) -> Aligner:
        if self._other is None:
            from visage.backends.align.dtw import DTWAligner

            self._other = DTWAligner()
        if is_english(language):
            if self._english is None:
                from visage.backends.align.pocketsphinx import PocketsphinxAligner

                english: Aligner = PocketsphinxAligner(fallback=self._other)
                try:
                    english.load()
                except MissingExtraError as exc:
                    log.info("using the DTW aligner for English: %s", exc)
                    english = self._other
                self._english = english
            return self._english
        return self._other

    def load(self) -> None:
        """Load the English aligner and the espeak voice now rather than on the first sentence."""
        self._for("en").load()
        self._for("und").load()

    def align(self, samples: np.ndarray, sample_rate: int, text: str, language: str = "en") -> Alignment:
        return self._for(language).align(samples, sample_rate, text, language)


def default_aligner() -> Aligner:
    """The aligner untimed voices use: pocketsphinx for English when installed, else DTW."""
    return registry.create("auto")


def check_input(samples: np.ndarray, sample_rate: int, text: str) -> np.ndarray:
    """Validate an alignment request; return the samples as finite mono float32.

    NaN and infinite samples (a broken decoder upstream) are zeroed rather than rejected, as long as
    speech remains.
    """
    if not isinstance(text, str) or not text.strip():
        raise InputError("nothing to align: the text is empty")
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise InputError(f"cannot align audio at a sample rate of {sample_rate!r} Hz")
    x = np.asarray(samples)
    if x.ndim != 1:
        raise InputError(f"the aligner needs mono audio (a 1-D array); got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number):
        raise InputError(f"audio samples must be numbers, not {x.dtype}")
    if np.issubdtype(x.dtype, np.integer):  # PCM integers: scale to [-1, 1]
        x = x.astype(np.float32) / float(np.iinfo(x.dtype).max + 1)
    x = np.nan_to_num(x.astype(np.float32, copy=False), nan=0.0, posinf=0.0, neginf=0.0)
    duration = len(x) / sample_rate
    if duration < MIN_AUDIO_SECONDS:
        raise InputError(
            f"the audio is too short to align ({duration * 1000:.0f} ms; at least {MIN_AUDIO_SECONDS * 1000:.0f} ms)"
        )
    if float(np.max(np.abs(x))) < SILENCE_PEAK:
        raise InputError("the audio is silent (or all NaN): there is no speech to align the text to")
    return np.clip(x, -1.0, 1.0)


def merge_pauses(phonemes: list[Phoneme]) -> list[Phoneme]:
    """Join adjacent pauses and drop empty ones, so a gap is one "_" however a backend reported it."""
    out: list[Phoneme] = []
    for p in phonemes:
        if p.symbol == PAUSE and p.end <= p.start:
            continue
        if out and p.symbol == PAUSE and out[-1].symbol == PAUSE:
            out[-1] = Phoneme(PAUSE, out[-1].start, max(out[-1].end, p.end))
        else:
            out.append(p)
    return out


def finite_alignment(phonemes: list[Phoneme], words: list[Word], duration: float) -> Alignment:
    """Clamp times into [0, duration] and keep them ordered, whatever rounding did upstream."""

    def clamp(t: float) -> float:
        return 0.0 if not math.isfinite(t) else min(max(t, 0.0), duration)

    ps = []
    last = 0.0
    for p in merge_pauses(phonemes):
        start = max(last, clamp(p.start))
        end = max(start, clamp(p.end))
        ps.append(Phoneme(p.symbol, start, end, p.stressed))
        last = end
    ws = []
    for w in words:
        start = clamp(w.start)
        ws.append(Word(w.text, w.char_start, w.char_end, start, max(start, clamp(w.end)), w.emphasised, w.sentence))
    return Alignment(tuple(ps), tuple(ws))
