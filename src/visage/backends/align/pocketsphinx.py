"""English forced alignment with pocketsphinx 5 and its bundled en-US acoustic model.

An acoustic model trained on real speech places boundaries more sharply than warping against a
synthetic voice, so English uses it when the `align` extra is installed. Phones come out in ARPAbet.
Words the dictionary lacks (names, numbers, coinages) get a pronunciation from espeak's phonemizer
mapped to ARPAbet, so any text aligns. If decoding fails anyway, the DTW aligner takes over.
"""
from __future__ import annotations

import functools
import logging
import re
import threading

import numpy as np

from visage.backends.align import PAUSE, Aligner, check_input, finite_alignment, registry
from visage.core.audio import resample
from visage.core.types import Alignment, Phoneme, Word
from visage.errors import MissingExtraError

log = logging.getLogger(__name__)

RATE = 16000  # the bundled model's sample rate
FRAME = 0.01  # pocketsphinx's frame shift (100 frames/s)
# Frame f is analysed over a 25.625 ms window starting at f * FRAME (the model's -wlen), so a boundary
# reported at frame f lies between the centres of frames f-1 and f: f * FRAME + wlen/2 - FRAME/2.
BOUNDARY_OFFSET = 0.0078

# A word as the dictionary sees it: letters and digits with inner apostrophes ("don't", "o'clock").
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")

# espeak's English phoneme mnemonics (espeak-ng phsource/ph_english*) -> CMU dictionary ARPAbet.
# Vowels with an r-colouring or a schwa offglide become two phones, as CMUdict spells them.
ESPEAK_TO_ARPABET: dict[str, tuple[str, ...]] = {
    "p": ("P",), "b": ("B",), "t": ("T",), "t#": ("T",), "t2": ("T",), "d": ("D",), "d#": ("D",),
    "k": ("K",), "g": ("G",), "?": ("T",), "x": ("K",), "f": ("F",), "v": ("V",), "T": ("TH",),
    "D": ("DH",), "s": ("S",), "z": ("Z",), "z#": ("Z",), "S": ("SH",), "Z": ("ZH",), "h": ("HH",),
    "tS": ("CH",), "dZ": ("JH",), "m": ("M",), "n": ("N",), "N": ("NG",), "l": ("L",), "l/": ("L",),
    "r": ("R",), "r-": ("R",), "w": ("W",), "W": ("W",), "j": ("Y",), "C": ("HH",),
    "n-": ("AH", "N"), "m-": ("AH", "M"), "@L": ("AH", "L"), "l-": ("AH", "L"),
    "a": ("AE",), "aa": ("AE",), "a#": ("AH",), "A:": ("AA",), "A": ("AA",), "0": ("AA",),
    "O:": ("AO",), "O": ("AO",), "O2": ("AO",), "V": ("AH",), "@": ("AH",), "@2": ("AH",),
    "@5": ("AH",), "@-": ("AH",), "3": ("ER",), "3:": ("ER",), "e": ("EH",), "E": ("EH",),
    "E2": ("EH",), "eI": ("EY",), "I": ("IH",), "I2": ("IH",), "I#": ("IH",), "i": ("IY",),
    "i:": ("IY",), "U": ("UH",), "u:": ("UW",), "u": ("UW",), "aI": ("AY",), "aU": ("AW",),
    "OI": ("OY",), "oU": ("OW",), "o": ("OW",), "A@": ("AA", "R"), "O@": ("AO", "R"),
    "o@": ("AO", "R"), "e@": ("EH", "R"), "i@": ("IY", "R"), "i@3": ("IH", "R"), "U@": ("UH", "R"),
    "aI@": ("AY", "ER"), "aI3": ("AY", "ER"), "aU@": ("AW", "ER"),
}
_VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}
_LONGEST = max(map(len, ESPEAK_TO_ARPABET))


def espeak_to_arpabet(mnemonics: str) -> tuple[list[str], int | None]:
    """Convert an espeak phoneme string to ARPAbet phones, and the index of the primary-stressed one.

    espeak writes phonemes without separators ("h@l'oU"), so the string is cut greedily at the
    longest known mnemonic; a primary stress mark (') applies to the next vowel. Unknown characters
    (length marks, tone digits, word separators) are skipped.
    """
    phones: list[str] = []
    stressed: int | None = None
    pending = False
    i = 0
    while i < len(mnemonics):
        if mnemonics[i] == "'":
            pending, i = True, i + 1
            continue
        for size in range(min(_LONGEST, len(mnemonics) - i), 0, -1):
            arpa = ESPEAK_TO_ARPABET.get(mnemonics[i : i + size])
            if arpa is not None:
                for ph in arpa:
                    if pending and ph in _VOWELS:
                        stressed, pending = len(phones), False
                    phones.append(ph)
                i += size
                break
        else:
            i += 1
    return phones, stressed


@functools.lru_cache(maxsize=4096)
def _espeak_pronunciation(word: str) -> tuple[tuple[str, ...], int | None]:
    from visage.backends.tts.espeak_lib import EspeakEngine

    phones, stressed = espeak_to_arpabet(EspeakEngine.get().phonemize(word, "en-us"))
    return tuple(phones), stressed


@registry.register("pocketsphinx")
class PocketsphinxAligner(Aligner):
    """Forced alignment against pocketsphinx's en-US model: word then phone segmentation (10 ms)."""

    name = "pocketsphinx"

    def __init__(self, fallback: Aligner | None = None, **_options) -> None:
        self._decoder = None
        self._fallback = fallback
        self._lock = threading.Lock()  # a decoder holds one utterance at a time

    def load(self) -> None:
        if self._decoder is not None:
            return
        try:
            from pocketsphinx import Decoder
        except ImportError:
            raise MissingExtraError(self.name, "align", "pocketsphinx") from None
        # bestpath off: its lattice pass can end the word alignment with a one-frame </s> that the
        # phone pass then cannot fit ("Failed to reach final state"; pocketsphinx issue #339, PR #354)
        # Beams far wider than recognition's defaults (1e-48, 7e-29): a forced alignment searches one
        # linear word graph, so this costs little, and default beams lose the path on slow speech.
        self._decoder = Decoder(loglevel="FATAL", bestpath=False, beam=1e-80, pbeam=1e-80, wbeam=1e-60)

    @property
    def fallback(self) -> Aligner:
        if self._fallback is None:
            from visage.backends.align.dtw import DTWAligner

            self._fallback = DTWAligner()
        return self._fallback

    def align(self, samples: np.ndarray, sample_rate: int, text: str, language: str = "en") -> Alignment:
        x = check_input(samples, sample_rate, text)
        self.load()
        tokens = [(m.start(), m.end(), m.group().lower()) for m in _TOKEN.finditer(text.replace("’", "'"))]
        entries = [(a, b, w, self._dictionary_word(w)) for a, b, w in tokens]
        entries = [e for e in entries if e[3] is not None]
        if not entries:
            log.warning("pocketsphinx cannot pronounce any word of %r; using the DTW aligner", text)
            return self.fallback.align(x, sample_rate, text, language)
        pcm = (resample(x, sample_rate, RATE) * 32767.0).astype("<i2").tobytes()
        try:
            with self._lock:
                segments = self._force_align(pcm, " ".join(e[3] for e in entries))
        except RuntimeError as exc:
            segments, reason = [], str(exc)
        else:
            reason = "no alignment found"
        spoken = [s for s in segments if not _is_silence(s[0])]
        if len(spoken) != len(entries):
            log.warning("pocketsphinx could not align %r (%s); using the DTW aligner", text, reason)
            return self.fallback.align(x, sample_rate, text, language)
        return self._to_alignment(segments, entries, text, len(x) / sample_rate)

    def _dictionary_word(self, word: str) -> str | None:
        """The dictionary key for `word`, adding an espeak-derived pronunciation when it is missing."""
        if self._decoder.lookup_word(word) is not None:
            return word
        phones, _ = _espeak_pronunciation(word)
        if not phones:
            return None
        with self._lock:
            self._decoder.add_word(word, " ".join(phones), True)
        return word

    def _force_align(self, pcm: bytes, words: str) -> list[tuple[str, list[tuple[str, int, int]]]]:
        """Two passes, as pocketsphinx requires: word alignment, then phone alignment within it.
        Returns [(word, [(phone, start frame, frame count), ...]), ...]."""
        d = self._decoder
        d.set_align_text(words)
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        if d.hyp() is None:
            return []
        d.set_alignment()
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        alignment = d.get_alignment()
        if alignment is None:
            return []
        return [(w.name, [(p.name, p.start, p.duration) for p in w]) for w in alignment]

    def _to_alignment(self, segments, entries, text: str, duration: float) -> Alignment:
        phonemes: list[Phoneme] = []
        words: list[Word] = []
        k = 0
        for name, phones in segments:
            if _is_silence(name):
                for _, start, length in phones:
                    phonemes.append(Phoneme(PAUSE, _time(start), _time(start + length)))
                continue
            a, b, lowered, _ = entries[k]
            k += 1
            stressed = self._stressed_index(lowered, [p for p, _, _ in phones])
            for n, (phone, start, length) in enumerate(phones):
                symbol = PAUSE if _is_silence(phone) else re.sub(r"\d", "", phone)
                phonemes.append(Phoneme(symbol, _time(start), _time(start + length), n == stressed))
            word_start = _time(phones[0][1])
            word_end = _time(phones[-1][1] + phones[-1][2])
            words.append(Word(text[a:b], a, b, word_start, word_end))
        if phonemes and phonemes[-1].end < duration:  # audio past the last frame is trailing silence
            phonemes.append(Phoneme(PAUSE, phonemes[-1].end, duration))
        return finite_alignment(phonemes, words, duration)

    @staticmethod
    def _stressed_index(word: str, phones: list[str]) -> int | None:
        """Which of the word's phones carries primary stress, from espeak's reading of the word.

        The bundled dictionary has no stress marks, so espeak's stressed vowel is matched to the
        dictionary pronunciation by its rank among the vowels (by relative position when the vowel
        counts differ)."""
        e_phones, e_stressed = _espeak_pronunciation(word)
        if e_stressed is None:
            return None
        e_rank = sum(p in _VOWELS for p in e_phones[:e_stressed])
        e_count = sum(p in _VOWELS for p in e_phones)
        vowels = [i for i, p in enumerate(phones) if p in _VOWELS]
        if not vowels:
            return None
        rank = e_rank if e_count == len(vowels) else round(e_rank * len(vowels) / max(e_count, 1))
        return vowels[min(rank, len(vowels) - 1)]


def _is_silence(name: str) -> bool:
    return name in ("<sil>", "<s>", "</s>", "SIL") or name.startswith(("+", "["))


def _time(frame: int) -> float:
    return 0.0 if frame <= 0 else frame * FRAME + BOUNDARY_OFFSET
