"""The neural voice: Piper (VITS) with its own phoneme alignments, shaped by WORLD for emotion and speaker.

The model comes from an installed package (visage.backends.tts.catalogue: pinned by SHA-256, checked
before first use). Piper reports how many samples each phoneme id produced, so timings are exact to
the audio: code points are grouped into phones and renamed to espeak mnemonics (visage.backends.tts.ipa),
stress marks go to the vowel after them, and word gaps are split between their neighbours. Speed is
the model's length scale; pitch, range, contour, formants, energy and breath are set afterwards
(visage.backends.tts.shaping), frame for frame, so the timings survive.

A long sentence is spoken in pieces (visage.backends.tts.pieces: its first phrase, itself cut before a
phrase-opening word when still long, and the rest), each made in a worker thread, the next one while
the one before it is being played: the first audio comes after the first few words, not the whole
sentence. The model releases the interpreter lock while it runs. The model is run once when it is
loaded (`warm`), so the first reply does not pay for onnxruntime's and espeak's first-call set-up.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

# a word for timing purposes is the espeak voice's, so both voices name the same words of a sentence
from visage.backends.espeak.speech import _WORD_TOKEN
from visage.backends.tts import registry
from visage.backends.tts.base import TTSBackend, chunk_audio
from visage.backends.tts.catalogue import NeuralVoiceSpec, model_files, verify_model, voice_spec, VOICES
from visage.backends.tts.ipa import STRESS_PRIMARY, STRESS_SECONDARY, group_phones, phone_symbol
from visage.backends.tts.pieces import ends_at_word_cut, split_pieces
from visage.backends.tts.shaping import Shape, reshape, shape_for
from visage.core.emotion import prosody_for
from visage.core.text import emphasis_spans
from visage.core.types import Phoneme, SpeechChunk, SpeechRequest, Word
from visage.errors import BackendError, InputError

log = logging.getLogger(__name__)

PAUSE = "_"
# Piper's own tokens: sentence start/end, and the punctuation it keeps as phonemes (pauses here).
_SILENT = {"^", "$", ".", ",", ";", ":", "!", "?", "-", "(", ")", '"', "'", "…", "—"}
OUTPUT_LEVEL = 0.55  # the model's output is scaled so a neutral sentence peaks near -5 dBFS
LEAD_PAUSE_S = 0.01  # s of silence kept before a sentence's first sound: Piper's start token gives 35-60
# ms, which a reply's listener waits through (espeak's voice starts after 12 ms)
EMPHASIS_PAUSE_S = 0.08  # a short beat before an emphasised word (not at a phrase's start)
CUT_PAUSE_S = 0.06  # s of silence kept at the end of a piece cut at a word boundary (pieces.py): with
# the next piece's LEAD_PAUSE_S, a 70 ms break, a minor phrase break's length in read speech
# (Goldman-Eisler 1968: most pauses between phrases are 0.05-0.25 s); Piper's comma and end tokens
# give 140-200 ms, a full phrase break that the text does not have
WARM_TEXT = "Hello there, how are you?"  # run once at load: the first call costs 0.1-0.2 s more

_models: dict[str, object] = {}
_models_lock = threading.Lock()
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="neural-voice")


@dataclass(frozen=True)
class _Piece:
    """One synthesised piece: samples and its timings, times from the piece's start."""

    samples: np.ndarray
    phonemes: tuple[Phoneme, ...]
    words: tuple[Word, ...]


def load_piper(spec: NeuralVoiceSpec):
    """The Piper model of `spec`, verified and loaded once per process (voices sharing a model share it)."""
    model, config = model_files(spec)
    with _models_lock:
        key = str(model)
        if key not in _models:
            verify_model(model, spec.model_sha256, f"reinstall it with: pip install --force-reinstall {spec.pip_name}")
            try:
                from visage.backends.tts.piper_model import load_seeded_piper
            except ImportError:
                raise BackendError("the neural voice needs piper-tts; install it with: pip install visage") from None
            logging.getLogger("piper").setLevel(logging.ERROR)
            try:
                _models[key] = warm(load_seeded_piper(model, config))
            except BackendError:
                raise
            except Exception as exc:  # onnxruntime and onnx raise their own types for broken files
                raise BackendError(f"the voice model {model} could not be loaded ({exc}); reinstall "
                                   f"it with: pip install --force-reinstall {spec.pip_name}") from None
        return _models[key]


def warm(voice):
    """`voice` after one synthesis and one shaping step: onnxruntime allocates and plans its kernels
    and espeak loads its dictionaries at the first call (0.19 s for "Hello!" against 0.06 s after, on
    this machine's 2 cores), and WORLD's first call sets up its tables; a first reply should not wait for it."""
    from piper import SynthesisConfig

    rate = int(voice.config.sample_rate)
    config = SynthesisConfig(normalize_audio=False, volume=1.0)
    x = np.concatenate([c.audio_float_array for c in voice.synthesize(WARM_TEXT, syn_config=config)])
    reshape(x * OUTPUT_LEVEL, rate, Shape(f0_scale=1.2, formant_scale=1.1))
    return voice


@registry.register("neural")
class NeuralTTS(TTSBackend):
    """Piper's en_US joe voice from its package, as the catalogue's voices (joe-female, joe)."""

    name = "neural"

    def __init__(self, voice: str | None = None, split_first_phrase: bool = True, **unknown) -> None:
        if unknown:
            raise InputError(f"unknown option(s) for the neural voice: {', '.join(sorted(unknown))}; "
                             "it takes: voice, split_first_phrase")
        self.default_voice = voice_spec(voice).name
        self.split_first_phrase = split_first_phrase in (True, "true", "1", "yes")
        self._voice = None

    def load(self) -> None:
        if self._voice is None:
            self._voice = load_piper(voice_spec(self.default_voice))

    @property
    def sample_rate(self) -> int:
        self.load()
        return int(self._voice.config.sample_rate)

    def languages(self) -> list[str]:
        return ["en", "en-us"]

    def voices(self, language: str | None = None) -> list[str]:
        return list(VOICES)

    def spec_for(self, request: SpeechRequest) -> NeuralVoiceSpec:
        name = request.voice if request.voice and request.voice != "default" else self.default_voice
        return voice_spec(name)

    def stream(self, request: SpeechRequest) -> Iterator[SpeechChunk]:
        text = request.text
        if not text.strip() or not _WORD_TOKEN.search(text):
            raise InputError("nothing to say: the sentence is empty")
        spec = self.spec_for(request)
        self.load()
        rate = self.sample_rate
        spans = split_pieces(text) if self.split_first_phrase else [(0, len(text))]
        futures: list[Future] = []

        def submit(i: int) -> None:
            a, b = spans[i]
            futures.append(_pool.submit(self._piece, request, spec, a, b, i == len(spans) - 1))

        submit(0)
        offset = 0.0
        try:
            for i in range(len(spans)):
                piece = futures[i].result()
                if i + 1 < len(spans):
                    # made while this piece plays, not alongside it: on a small CPU the two would
                    # share the cores and the first audio would come later
                    submit(i + 1)
                for chunk in chunk_audio(piece.samples, rate, piece.phonemes, piece.words):
                    yield chunk.shifted(offset) if offset else chunk
                offset += len(piece.samples) / rate
        finally:
            for f in futures:
                f.cancel()

    # -- one piece --------------------------------------------------------------------------------
    def _piece(self, request: SpeechRequest, spec: NeuralVoiceSpec, a: int, b: int, last: bool) -> _Piece:
        from piper import SynthesisConfig

        voice = self._voice
        rate = int(voice.config.sample_rate)
        p = prosody_for(request.tags, request.pitch)
        config = SynthesisConfig(length_scale=float(voice.config.length_scale) / max(0.25, p.rate),
                                 normalize_audio=False, volume=1.0)
        # "[[ ... ]]" is Piper's raw-phoneme syntax: user text is spoken, never read as phonemes
        said = request.text[a:b].replace("[[", "[ [").replace("]]", "] ]")
        cut_before = a > 0 and ends_at_word_cut(request.text, a)
        cut_after = not last and ends_at_word_cut(request.text, b)
        if cut_after:  # said as a phrase that goes on, not as a sentence that ends
            said += ","
        samples, entries = [], []
        for chunk in voice.synthesize(said, syn_config=config, include_alignments=True):
            if chunk.phoneme_alignments is None:
                raise BackendError("the Piper model gave no alignments; the neural voice needs them for the lips")
            samples.append(chunk.audio_float_array)
            entries.extend((al.phoneme, int(al.num_samples)) for al in chunk.phoneme_alignments)
        x = np.concatenate(samples) if samples else np.zeros(0, np.float32)
        if sum(n for _, n in entries) != len(x):
            raise BackendError("the Piper alignments do not add up to the audio")
        phones, ipa_words = timeline(entries)
        if a == 0 or cut_before:  # a sentence's start (a later piece's leading pause is its phrase break:
            x = trim_leading_pause(x, phones, int(LEAD_PAUSE_S * rate))  # kept, but not after a word cut)
        if cut_after:
            x = trim_trailing_pause(x, phones, int(CUT_PAUSE_S * rate))
        words = assign_words(request.text, a, b, ipa_words, phones, voice)
        emph = emphasis_spans(request.text, request.emphasis)
        words = tuple(replace(w, emphasised=any(s < w.char_end and w.char_start < e for s, e in emph)) for w in words)
        x, phones, words = insert_emphasis_pauses(x * OUTPUT_LEVEL, rate, phones, words, a)
        shape = shape_for(request.tags, request.pitch, spec.f0_scale, spec.formant_scale, spec.median_f0)
        shape = replace(shape, emphasis=tuple((w.start / rate, w.end / rate) for w in words if w.emphasised),
                        final_span=(words[-1].start / rate, words[-1].end / rate) if last and words else None,
                        final_semitones=shape.final_semitones if last else 0.0,
                        voiced=tuple((p.start / rate, p.end / rate) for p in phones if is_sonorant(p.symbol)))
        y = reshape(x, rate, shape)
        return _Piece(y, _phonemes(phones, words, rate), tuple(
            replace(w, start=w.start / rate, end=w.end / rate) for w in words))


_SONORANT_CONSONANTS = {"m", "n", "N", "l", "r", "j", "w", "n-", "m-", "@L", "r.", "n^", "l^"}


def is_sonorant(symbol: str) -> bool:
    """Vowels, nasals, liquids and glides: always voiced (espeak mnemonics)."""
    return symbol in _SONORANT_CONSONANTS or symbol[:1] in "aeiouAEIOUV@3Y0yW"


# -- Piper's alignments to phones and words (times in samples) ------------------------------------
@dataclass
class _Phone:
    symbol: str
    start: int
    end: int
    stressed: bool = False
    word: int = -1  # index into the IPA words


def timeline(entries: list[tuple[str, int]]) -> tuple[list[_Phone], list[tuple[int, int]]]:
    """Phones with sample spans covering the audio without gaps, and each IPA word's phone range.

    Piper's entries are code points with their samples; a word gap (" ") is shared between the
    phones either side, punctuation and the sentence marks are pauses."""
    phones: list[_Phone] = []
    words: list[tuple[int, int]] = []
    t = 0
    word: list[tuple[str, int]] = []
    gap = 0  # samples of a word gap waiting to be shared

    def add_pause(n: int) -> None:
        if n <= 0:
            return
        start = phones[-1].end if phones else 0
        if phones and phones[-1].symbol == PAUSE:
            phones[-1].end += n
        else:
            phones.append(_Phone(PAUSE, start, start + n))

    def close_word() -> None:
        nonlocal word, gap
        if not word:
            return
        symbols = [s for s, _ in word]
        first = len(phones)
        carry, stressed = 0, False
        for i, j in group_phones(symbols):
            n = sum(k for _, k in word[i:j])
            if symbols[i] in (STRESS_PRIMARY, STRESS_SECONDARY):
                carry += n
                stressed = stressed or symbols[i] == STRESS_PRIMARY
                continue
            start = phones[-1].end if phones else 0
            if gap:  # half the gap before this word goes to the last phone before it
                half = gap // 2 if phones and phones[-1].symbol != PAUSE else 0
                if phones:
                    phones[-1].end += half
                    start += half
                n += gap - half
                gap = 0
            phones.append(_Phone(phone_symbol(symbols[i:j]), start, start + n + carry, stressed, len(words)))
            carry, stressed = 0, False
        if carry and len(phones) > first:
            phones[-1].end += carry
        elif carry:
            add_pause(carry)
        if len(phones) > first:
            words.append((first, len(phones)))
        word = []

    for symbol, n in entries:
        if symbol == " ":
            close_word()
            gap += n
        elif symbol in _SILENT:
            close_word()
            add_pause(gap + n)
            gap = 0
        else:
            word.append((symbol, n))
        t += n
    close_word()
    add_pause(gap)
    if phones and phones[-1].end != t:  # nothing is lost: the timeline ends with the audio
        phones[-1].end = t
    return phones, words


def trim_leading_pause(x: np.ndarray, phones: list[_Phone], keep: int) -> np.ndarray:
    """`x` without all but `keep` samples of its leading pause; `phones` are moved with it (in place)."""
    if not phones or phones[0].symbol != PAUSE or phones[0].end <= keep or len(phones) < 2:
        return x
    cut = phones[0].end - keep
    for phone in phones:
        phone.start, phone.end = max(0, phone.start - cut), phone.end - cut
    return x[cut:]


def trim_trailing_pause(x: np.ndarray, phones: list[_Phone], keep: int) -> np.ndarray:
    """`x` without all but `keep` samples of its trailing pause; `phones` end with it (in place)."""
    if not phones or phones[-1].symbol != PAUSE or phones[-1].end - phones[-1].start <= keep or len(phones) < 2:
        return x
    phones[-1].end = phones[-1].start + keep
    return x[: phones[-1].end]


def _token_phones(voice, token: str) -> list[str]:
    """The phone symbols espeak gives one written token said alone."""
    out = []
    for sentence in voice.phonemize(token):
        for word in "".join(sentence).split(" "):
            symbols = [c for c in word if c not in _SILENT]
            out += [phone_symbol(symbols[i:j]) for i, j in group_phones(symbols)
                    if symbols[i] not in (STRESS_PRIMARY, STRESS_SECONDARY)]
    return out


def assign_words(text: str, a: int, b: int, ipa_words: list[tuple[int, int]], phones: list[_Phone],
                 voice) -> tuple[Word, ...]:
    """Words of text[a:b] with sample times, found among the phones espeak made of the whole text.

    Usually each written token is one IPA word. When not (espeak says "3.5" as three words, and joins
    "I am" into one), each token is phonemized alone and its phones matched against the sentence's
    (a monotonic sequence match), which puts every word boundary between the right phones."""
    tokens = [m.span() for m in _WORD_TOKEN.finditer(text, a, b)]
    if not tokens or not ipa_words:
        return ()
    if len(tokens) == len(ipa_words):
        owner = {p: k for k, (lo, hi) in enumerate(ipa_words) for p in range(lo, hi)}
    else:
        owner = _match_tokens(voice, [text[s:e] for s, e in tokens], ipa_words, phones)
    out = []
    for k, (s, e) in enumerate(tokens):
        mine = [p for p, t in owner.items() if t == k]
        if mine:
            start, end = phones[min(mine)].start, phones[max(mine)].end
            for p in mine:
                phones[p].word = s
        else:  # a token espeak did not voice: an instant where it would be
            start = end = out[-1].end if out else phones[0].end
        out.append(Word(text[s:e], s, e, start, end))
    return tuple(out)


def _match_tokens(voice, tokens: list[str], ipa_words: list[tuple[int, int]], phones: list[_Phone]) -> dict[int, int]:
    """phone index -> token index, by matching each token's own phones against the sentence's."""
    from difflib import SequenceMatcher

    ref, ref_token = [], []
    for k, token in enumerate(tokens):
        symbols = _token_phones(voice, token)
        ref += symbols
        ref_token += [k] * len(symbols)
    spoken = [p for lo, hi in ipa_words for p in range(lo, hi)]
    matcher = SequenceMatcher(None, ref, [phones[p].symbol for p in spoken], autojunk=False)
    owner: dict[int, int] = {}
    for block in matcher.get_matching_blocks():
        for d in range(block.size):
            owner[spoken[block.b + d]] = ref_token[block.a + d]
    last = next((owner[p] for p in spoken if p in owner), 0)
    for p in spoken:  # unmatched phones belong to the token before them
        last = owner.setdefault(p, last)
        last = max(last, owner[p])
        owner[p] = last
    return owner


def insert_emphasis_pauses(x: np.ndarray, rate: int, phones: list[_Phone], words: tuple[Word, ...],
                           piece_start: int) -> tuple[np.ndarray, list[_Phone], tuple[Word, ...]]:
    """A beat of silence before each emphasised word that has a word before it in the piece."""
    cuts = [w.start for i, w in enumerate(words) if w.emphasised and i > 0 and w.start > 0]
    if not cuts:
        return x, phones, words
    n = int(EMPHASIS_PAUSE_S * rate)
    fade = max(1, int(0.005 * rate))
    pieces, last = [], 0
    for c in cuts:
        seg = x[last:c].copy()
        k = min(fade, len(seg))
        seg[len(seg) - k :] *= np.linspace(1.0, 0.0, k)  # the sound before the beat dies out, no click
        pieces += [seg, np.zeros(n, x.dtype)]
        last = c
    pieces.append(x[last:])
    y = np.concatenate(pieces)

    def shift(t: int, at_start: bool) -> int:  # a span ending at a cut stays before the beat
        return t + n * sum(1 for c in cuts if (c <= t if at_start else c < t))

    out: list[_Phone] = []
    for p in phones:
        q = _Phone(p.symbol, shift(p.start, True), shift(p.end, False), p.stressed, p.word)
        if p.start in cuts:  # the beat sits right before this phone
            if out and out[-1].symbol == PAUSE:
                out[-1].end += n
            else:
                out.append(_Phone(PAUSE, q.start - n, q.start))
        out.append(q)
    moved = tuple(replace(w, start=shift(w.start, True), end=max(shift(w.start, True), shift(w.end, False)))
                  for w in words)
    return y, out, moved


def _phonemes(phones: list[_Phone], words: tuple[Word, ...], rate: int) -> tuple[Phoneme, ...]:
    emphasised = {w.char_start for w in words if w.emphasised}
    return tuple(
        Phoneme(p.symbol, p.start / rate, p.end / rate, p.stressed, p.word if p.symbol != PAUSE else -1,
                p.word in emphasised and p.symbol != PAUSE)
        for p in phones if p.end > p.start
    )
