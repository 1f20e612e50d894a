"""Speech recognisers. `registry` names every one; `create_asr(name)` builds one."""
from __future__ import annotations

import numpy as np

from visage.backends.asr.base import ASRStream, SpeechRecognizer, Transcript
from visage.backends.registry import Registry
from visage.errors import InputError

registry: Registry[SpeechRecognizer] = Registry(
    "speech recogniser", __name__, ("pocketsphinx", "faster_whisper", "funasr")
)


__all__ = ["DEFAULT_ASR", "ASRStream", "SpeechRecognizer", "Transcript", "asr_names", "create_asr", "registry"]


DEFAULT_ASR = "whisper"


def create_asr(name: str = DEFAULT_ASR, **options) -> SpeechRecognizer:
    """`whisper` (default: Whisper base from its registry packages, many languages), `pocketsphinx`
    (light, English only), `faster-whisper` (the same with your own model) or `funasr` (extra, weights)."""
    return registry.create(name, **options)


def asr_names() -> list[str]:
    return registry.names()


def mono_float32(samples) -> np.ndarray:
    """Check and convert one chunk of 16 kHz mono audio; non-finite samples become silence."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise InputError(f"speech recognition takes mono audio (one dimension), not shape {x.shape}")
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)


def looks_like_path(spec: str) -> bool:
    """Whether a model is named by a local path rather than a size or a hub id ("owner/name"): a
    missing path is then the user's mistake to report, not a name to try downloading."""
    import os

    return (os.path.isabs(spec) or spec.startswith((".", "~")) or spec.count("/") > 1
            or (os.sep != "/" and os.sep in spec))


def as_pcm16(samples: np.ndarray) -> bytes:
    """Float audio in [-1, 1] as the little-endian 16-bit PCM that classic decoders read."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def words_of(text: str) -> list[str]:
    """Lower-case words without punctuation, numbers spelt out ("9" -> "nine", as spoken): the form
    transcripts are compared in."""
    import re

    words = re.findall(r"[^\W_]+(?:'[^\W_]+)*", text.lower().replace("’", "'"))
    return [w for word in words for w in (number_words(int(word)) if word.isascii() and word.isdigit()
                                          and len(word) <= 3 else [word])]


ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
       "seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> list[str]:
    """0..999 in English words ("705" -> seven hundred five)."""
    if n >= 100:
        return [ONES[n // 100], "hundred"] + (number_words(n % 100) if n % 100 else [])
    if n >= 20:
        return [TENS[n // 10]] + ([ONES[n % 10]] if n % 10 else [])
    return [ONES[n]]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, reference word count): word error rate's two terms.
    A compound written as one word on one side and two on the other ("sea shells" / "seashells",
    "every day" / "everyday") is the same speech, not two errors: English spells many both ways, and a
    listener cannot hear the space, so two adjacent words matching one word when joined cost nothing."""
    ref, hyp = words_of(reference), words_of(hypothesis)
    inf = len(ref) + len(hyp) + 1
    rows = [list(range(len(hyp) + 1))]  # edit distance; rows[i][j]: ref[:i] against hyp[:j]
    for i in range(1, len(ref) + 1):
        row = [i] + [inf] * len(hyp)
        for j in range(1, len(hyp) + 1):
            r, h = ref[i - 1], hyp[j - 1]
            row[j] = min(rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + (r != h))
            if i > 1 and ref[i - 2] + r == h:
                row[j] = min(row[j], rows[i - 2][j - 1])
            if j > 1 and hyp[j - 2] + h == r:
                row[j] = min(row[j], rows[i - 1][j - 2])
        rows.append(row)
    return rows[-1][-1], len(ref)


def check_model_dir(spec: str, what: str) -> str:
    """The expanded model spec; a spec that names a path must be an existing directory, else an
    InputError that says `what` to give instead."""
    import os

    path = os.path.expanduser(spec)
    if looks_like_path(spec) and not os.path.isdir(path):
        raise InputError(f"no {what}")
    return path
