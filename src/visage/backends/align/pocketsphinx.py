"""English forced alignment with pocketsphinx 5 and its bundled en-US acoustic model.

An acoustic model trained on real speech does not depend on the voice sounding like espeak, as the DTW
aligner does (DTW is near-exact on espeak-like voices; bench/bench_align.py measures both), so English
uses it when the `align` extra is installed. Phones come out as espeak mnemonics, like every voice's.
Words the dictionary lacks (names, numbers, coinages) get a pronunciation from espeak's phonemizer
mapped to ARPAbet, so any text aligns. If decoding fails anyway, the DTW aligner takes over.
"""
from __future__ import annotations

import functools
import logging
import re
import threading

import numpy as np

from visage.backends.align import PAUSE, Aligner, check_input, finite_alignment, is_english, registry
from visage.core.audio import resample
from visage.core.types import Alignment, Phoneme, Word
from visage.errors import InputError, MissingExtraError
from visage.core.text import HAN

log = logging.getLogger(__name__)

RATE = 16000  # the bundled model's sample rate
FRAME = 0.01  # pocketsphinx's frame shift (100 frames/s)
# Frame f is analysed over a 25.625 ms window starting at f * FRAME (the model's -wlen), so a boundary
# reported at frame f is placed at that window's centre, f * FRAME + wlen/2 (measured bias then ~0 ms).
BOUNDARY_OFFSET = 0.0128

# Longer audio is aligned in pieces of MIN..MAX seconds, cut at pauses (see _pieces).
MAX_PIECE_SECONDS, MIN_PIECE_SECONDS = 12.0, 4.0

# A word as the dictionary sees it: letters and digits with inner apostrophes or dots ("don't",
# "3.5", "U.S"), or one Han character; the same cut as the espeak voice makes.
_TOKEN = re.compile(f"[{HAN}]|[^\\W_{HAN}]+(?:['.][^\\W_{HAN}]+)*")

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
# ARPAbet back to espeak mnemonics: visage speaks one phoneme alphabet, espeak's, everywhere.
ARPABET_TO_ESPEAK: dict[str, str] = {
    "AA": "A:", "AE": "a", "AH": "V", "AO": "O:", "AW": "aU", "AY": "aI", "B": "b", "CH": "tS", "D": "d",
    "DH": "D", "EH": "E", "ER": "3:", "EY": "eI", "F": "f", "G": "g", "HH": "h", "IH": "I", "IY": "i:",
    "JH": "dZ", "K": "k", "L": "l", "M": "m", "N": "n", "NG": "N", "OW": "oU", "OY": "OI", "P": "p",
    "R": "r", "S": "s", "SH": "S", "T": "t", "TH": "T", "UH": "U", "UW": "u:", "V": "v", "W": "w",
    "Y": "j", "Z": "z", "ZH": "Z",
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
    from visage.backends.espeak.engine import EspeakEngine

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
        # linear word graph, so this costs nothing measurable, while default beams (and even 1e-80)
        # lost the path on slow speech and on words spoken unlike their dictionary entry.
        self._decoder = Decoder(loglevel="FATAL", bestpath=False, beam=1e-200, pbeam=1e-200, wbeam=1e-200)

    @property
    def fallback(self) -> Aligner:
        if self._fallback is None:
            from visage.backends.align.dtw import DTWAligner

            self._fallback = DTWAligner()
        return self._fallback

    def align(self, samples: np.ndarray, sample_rate: int, text: str, language: str = "en") -> Alignment:
        x = check_input(samples, sample_rate, text)
        if not is_english(language):
            log.info("pocketsphinx's model is English only; aligning %s with the DTW aligner", language)
            return self.fallback.align(x, sample_rate, text, language)
        self.load()
        duration = len(x) / sample_rate
        with self._lock:
            tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text.replace("’", "'"))]
            entries = [(a, b, key) for a, b, w in tokens if (key := self._dictionary_word(w)) is not None]
        if not tokens:
            raise InputError(f"nothing to align: there are no words in {text!r}")
        if not entries:
            log.warning("pocketsphinx cannot pronounce any word of %r; using the DTW aligner", text)
            return self.fallback.align(x, sample_rate, text, language)
        rough = None
        pieces = [(0, len(x), entries)]
        if duration > MAX_PIECE_SECONDS:
            rough = self.fallback.align(x, sample_rate, text, language)
            pieces = _pieces(rough, entries, sample_rate, len(x))
        phonemes: list[Phoneme] = []
        words: list[Word] = []
        for begin, end, piece in pieces:
            segments, reason = self._segments(x[begin:end], sample_rate, piece)
            if segments is None:
                log.warning("pocketsphinx could not align %r (%s); using the DTW aligner", text, reason)
                return rough or self.fallback.align(x, sample_rate, text, language)
            ps, ws = self._timed(segments, piece, text, begin / sample_rate)
            phonemes += ps
            words += ws
        if phonemes and phonemes[-1].end < duration:  # audio past the last frame is trailing silence
            phonemes.append(Phoneme(PAUSE, phonemes[-1].end, duration))
        return finite_alignment(phonemes, words, duration)

    def _segments(self, x: np.ndarray, rate: int, entries) -> tuple[list | None, str]:
        """pocketsphinx's word and phone segmentation of one piece, or (None, why it failed)."""
        pcm = (resample(x, rate, RATE) * 32767.0).astype("<i2").tobytes()
        try:
            with self._lock:
                segments = self._force_align(pcm, " ".join(e[2] for e in entries))
        except RuntimeError as exc:
            return None, str(exc)
        if sum(not _is_silence(name) for name, _ in segments) != len(entries):
            return None, "no alignment found"
        return segments, ""

    def _dictionary_word(self, word: str) -> str | None:
        """The dictionary key for `word`, adding an espeak-derived pronunciation when it is missing
        (from the word as written: espeak spells out "U.S" but reads "u.s" as a word)."""
        key = word.lower()
        if self._decoder.lookup_word(key) is not None:
            return key
        phones, _ = _espeak_pronunciation(word)
        if not phones:
            return None
        self._decoder.add_word(key, " ".join(phones), True)
        return key

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

    def _timed(self, segments, entries, text: str, offset: float) -> tuple[list[Phoneme], list[Word]]:
        """Phonemes and words from pocketsphinx's segments, times shifted by `offset` seconds."""
        phonemes: list[Phoneme] = []
        words: list[Word] = []
        k = 0
        for name, phones in segments:
            if _is_silence(name):
                for _, start, length in phones:
                    phonemes.append(Phoneme(PAUSE, offset + _time(start), offset + _time(start + length)))
                continue
            a, b, key = entries[k]
            k += 1
            stressed = self._stressed_index(key, [p for p, _, _ in phones])
            for n, (phone, start, length) in enumerate(phones):
                arpabet = re.sub(r"\d", "", phone)
                symbol = PAUSE if _is_silence(phone) else ARPABET_TO_ESPEAK.get(arpabet, arpabet)
                begin, end = offset + _time(start), offset + _time(start + length)
                phonemes.append(Phoneme(symbol, begin, end, n == stressed))
            start, end = phones[0][1], phones[-1][1] + phones[-1][2]
            words.append(Word(text[a:b], a, b, offset + _time(start), offset + _time(end)))
        return phonemes, words

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


def _pieces(rough: Alignment, entries, rate: int, n_samples: int) -> list[tuple[int, int, list]]:
    """Cut long audio into pieces of at most MAX_PIECE_SECONDS, at the longest pauses the rough (DTW)
    alignment finds between words; returns [(first sample, end sample, entries), ...].

    One forced alignment over minutes of audio holds the whole search in memory (2.7 GB and 31 s
    measured for 5.6 minutes; 0.16 GB and 16 s in pieces, equally accurate).
    """
    times: list[tuple[float, float] | None] = []
    w = 0  # both lists run in text order, so one sweep finds each entry's rough words
    for a, b, _ in entries:
        while w < len(rough.words) and rough.words[w].char_end <= a:
            w += 1
        hits = [rw for rw in rough.words[w : w + 8] if rw.char_start < b and a < rw.char_end]
        times.append((hits[0].start, hits[-1].end) if hits else None)
    gaps = []  # (where to cut, pause length, index of the first entry after the cut)
    for k in range(1, len(entries)):
        if times[k - 1] is not None and times[k] is not None and times[k][0] >= times[k - 1][1]:
            gaps.append(((times[k - 1][1] + times[k][0]) / 2, times[k][0] - times[k - 1][1], k))
    duration = n_samples / rate
    cuts = [(0.0, 0)]
    while duration - cuts[-1][0] > MAX_PIECE_SECONDS:
        last = cuts[-1][0]
        usable = [g for g in gaps if g[0] >= last + MIN_PIECE_SECONDS and g[2] > cuts[-1][1]]
        window = [g for g in usable if g[0] <= last + MAX_PIECE_SECONDS]
        if not window:  # no pause within reach: cut at the first one after it
            if not usable:
                break
            window = usable[:1]
        best = max(window, key=lambda g: g[1])
        cuts.append((best[0], best[2]))
    bounds = [int(round(t * rate)) for t, _ in cuts] + [n_samples]
    firsts = [k for _, k in cuts] + [len(entries)]
    return [(bounds[i], bounds[i + 1], entries[firsts[i] : firsts[i + 1]]) for i in range(len(cuts))]


def _is_silence(name: str) -> bool:
    return name in ("<sil>", "<s>", "</s>", "SIL") or name.startswith(("+", "["))


def _time(frame: int) -> float:
    return 0.0 if frame <= 0 else frame * FRAME + BOUNDARY_OFFSET
