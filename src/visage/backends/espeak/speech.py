"""Speech from libespeak-ng with emotion prosody, emphasis and exact phoneme and word timings.

Shared by the embedded voice (`visage.backends.tts.espeak`) and the DTW aligner, which warps these
exact timings onto other voices' audio; it lives below both so that neither kind imports the other.

Text is always sent as SSML that visage writes itself, with the user's text XML-escaped, so markup in
user text is spoken as characters and never interpreted. espeak reports event positions as offsets
into that SSML; an offset map turns them back into spans of the sentence the user gave.
"""
from __future__ import annotations

import bisect
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from xml.sax.saxutils import escape

import numpy as np

from visage.backends.espeak.engine import EVENT_PHONEME, EVENT_WORD, EspeakEngine
from visage.core.emotion import prosody_for
from visage.core.text import HAN, emphasis_spans
from visage.core.types import Phoneme, SpeechChunk, SpeechRequest, Word
from visage.errors import InputError

# Short codes people use, mapped to espeak's language identifiers.
LANGUAGE_ALIASES = {
    "en": "en-us", "en-uk": "en-gb", "zh": "cmn", "zh-cn": "cmn", "zh-hans": "cmn", "mandarin": "cmn",
    "chinese": "cmn", "cantonese": "yue", "zh-hk": "yue", "fr": "fr-fr", "english": "en-us",
}

# Named voices offered for every language: espeak's voice variants (espeak-ng-data/voices/!v).
VOICE_VARIANTS = {
    "default": "", "male1": "m1", "male2": "m2", "male3": "m3", "male4": "m4",
    "female1": "f1", "female2": "f2", "female3": "f3", "female4": "f4",
}

# espeak's neutral settings (speak_lib.h: rate in words per minute, others on 0-100/0-200 scales)
_RATE, _PITCH, _RANGE, _VOLUME = 175, 50, 50, 100
# Emphasis: a stressed word is louder and higher (measured by tests/test_prosody.py).
_EMPHASIS_SSML = ('<emphasis level="strong"><prosody volume="+60%" pitch="+25%" rate="-12%">', "</prosody></emphasis>")
_PAUSE = "_"
# A word for timing purposes: one Han character, or a run of letters/digits with inner apostrophes.
_WORD_TOKEN = re.compile(f"[{HAN}]|[^\\W_{HAN}]+(?:['’.][^\\W_{HAN}]+)*")


@dataclass(frozen=True)
class _SsmlDocument:
    text: str
    ssml_offsets: list[int]  # start of each copied text run in the SSML
    text_offsets: list[int]  # where that run starts in the plain text
    run_lengths: list[int]

    def to_text_offset(self, ssml_pos: int) -> int:
        i = max(0, bisect.bisect_right(self.ssml_offsets, ssml_pos) - 1)
        if not self.ssml_offsets:
            return 0
        inside = min(max(0, ssml_pos - self.ssml_offsets[i]), self.run_lengths[i])
        return self.text_offsets[i] + inside


def build_ssml(text: str, emphasis_spans: list[tuple[int, int]]) -> _SsmlDocument:
    """Escape `text` into an SSML document, wrapping the given character spans in emphasis."""
    parts = ["<speak>"]
    ssml_len = len(parts[0])
    ssml_offsets: list[int] = []
    text_offsets: list[int] = []
    lengths: list[int] = []

    def copy(a: int, b: int) -> None:
        nonlocal ssml_len
        for k in range(a, b):  # escaped characters map one SSML run each, so offsets stay exact
            esc = escape(text[k], {'"': "&quot;"})
            ssml_offsets.append(ssml_len)
            text_offsets.append(k)
            lengths.append(len(esc) if len(esc) == 1 else 0)
            parts.append(esc)
            ssml_len += len(esc)

    pos = 0
    for a, b in sorted(emphasis_spans):
        if a < pos:
            continue
        copy(pos, a)
        parts.append(_EMPHASIS_SSML[0])
        ssml_len += len(_EMPHASIS_SSML[0])
        copy(a, b)
        parts.append(_EMPHASIS_SSML[1])
        ssml_len += len(_EMPHASIS_SSML[1])
        pos = b
    copy(pos, len(text))
    parts.append("</speak>")
    return _SsmlDocument("".join(parts), ssml_offsets, text_offsets, lengths)


class EspeakSpeaker:
    """libespeak-ng through espeakng-loader: ~100 languages, offline, streaming, exact timings."""

    def __init__(self, **_options) -> None:
        self._engine: EspeakEngine | None = None

    def load(self) -> None:
        if self._engine is None:
            self._engine = EspeakEngine.get()

    @property
    def engine(self) -> EspeakEngine:
        self.load()
        assert self._engine is not None
        return self._engine

    @property
    def sample_rate(self) -> int:
        return self.engine.sample_rate

    @cached_property
    def _languages(self) -> dict[str, str]:
        return self.engine.list_languages()

    def languages(self) -> list[str]:
        return sorted(set(self._languages) | set(LANGUAGE_ALIASES))

    def voices(self, language: str | None = None) -> list[str]:
        return list(VOICE_VARIANTS)

    def resolve_language(self, language: str) -> str:
        """The espeak language code for a user's code (aliases like en and zh included)."""
        code = (language or "en").strip().lower().replace("_", "-")
        code = LANGUAGE_ALIASES.get(code, code)
        known = {k.lower(): k for k in self._languages}
        if code in known:
            return known[code]
        raise InputError(
            f"unknown language {language!r} for the espeak voice; choose one of: {', '.join(self.languages())}"
        )

    def resolve_voice(self, language: str, voice: str | None) -> str:
        """The espeak voice identifier (voice file plus variant) for a language and a voice name."""
        lang = self._languages[self.resolve_language(language)]
        name = (voice or "default").strip().lower()
        if name in VOICE_VARIANTS:
            variant = VOICE_VARIANTS[name]
        elif os.path.exists(os.path.join(self.engine.data_path, "voices", "!v", voice or "")):
            variant = voice or ""
        else:
            raise InputError(
                f"unknown voice {voice!r}; choose one of: {', '.join(VOICE_VARIANTS)} "
                f"(or an espeak variant from espeak-ng-data/voices/!v)"
            )
        return f"{lang}+{variant}" if variant else lang

    def stream(self, request: SpeechRequest) -> Iterator[SpeechChunk]:
        text = request.text
        if not text.strip():
            raise InputError("nothing to say: the sentence is empty")
        voice = self.resolve_voice(request.language, request.voice)
        doc = build_ssml(text, emphasis_spans(text, request.emphasis))
        p = prosody_for(request.tags, request.pitch)
        timeline = _TimelineBuilder(text, doc, self.sample_rate, emphasis_spans(text, request.emphasis))
        buffers = self.engine.synthesize(
            doc.text,
            voice,
            rate=int(np.clip(_RATE * p.rate, 80, 450)),
            pitch=int(np.clip(_PITCH * p.pitch, 0, 99)),
            pitch_range=int(np.clip(_RANGE * p.pitch_range, 0, 100)),
            volume=int(np.clip(_VOLUME * p.volume, 0, 200)),
        )
        sent = 0
        for buf in buffers:
            for event in buf.events:
                timeline.add(event)
            sent_before = sent
            sent += len(buf.samples)
            phonemes, words = timeline.closed(sent)
            yield SpeechChunk(
                samples=buf.samples.astype(np.float32) / 32768.0,
                sample_rate=self.sample_rate,
                start=sent_before / self.sample_rate,
                phonemes=phonemes,
                words=words,
            )
        phonemes, words = timeline.finish(sent)
        if phonemes or words:
            yield SpeechChunk(np.zeros(0, np.float32), self.sample_rate, sent / self.sample_rate, phonemes, words)


class _TimelineBuilder:
    """Turns espeak's start-only events into closed phonemes and words as the audio advances."""

    def __init__(self, text: str, doc: _SsmlDocument, rate: int, emphasis: list[tuple[int, int]]) -> None:
        self.text, self.doc, self.rate, self.emphasis = text, doc, rate, emphasis
        self._phone: tuple | None = None  # symbol, stressed, start sample, word offset, emphasised
        self._word_char, self._word_emphasised = -1, False  # the word being spoken
        self._phones: list[Phoneme] = []
        self._pause: tuple[int, int] | None = None  # a silence still growing (start, end samples)
        self._word_starts: list[tuple[int, int]] = []  # (char offset, start sample)
        self._word_last_voiced_end = 0
        self._words: list[Word] = []

    def add(self, event) -> None:
        if event.kind == EVENT_PHONEME:
            self._close_phone(event.sample)
            raw = str(event.value)
            symbol = raw.replace("'", "").replace(",", "") or _PAUSE
            if symbol.startswith("_"):
                symbol = _PAUSE
            self._phone = (symbol, "'" in raw, event.sample, self._word_char, self._word_emphasised)
        elif event.kind == EVENT_WORD:
            offset = min(len(self.text), self.doc.to_text_offset(event.text_position))
            # the previous word's last phone ends here; any gap before the next phone is a pause
            self._close_phone(event.sample)
            if self._word_starts:
                self._close_word(offset)
            self._word_starts.append((offset, event.sample))
            self._phone = (_PAUSE, False, event.sample, -1, False)
            self._word_char = offset
            self._word_emphasised = any(a <= offset < b for a, b in self.emphasis)

    def _close_phone(self, end_sample: int) -> None:
        if self._phone is None:
            return
        symbol, stressed, start, word_char, emphasised = self._phone
        self._phone = None
        if end_sample <= start:
            return  # espeak marks syllable boundaries with zero-length phonemes
        if symbol == _PAUSE:  # espeak splits one silence into several pauses: keep it whole
            self._pause = (self._pause[0] if self._pause else start, end_sample)
            return
        self._flush_pause()
        self._phones.append(Phoneme(symbol, start / self.rate, end_sample / self.rate, stressed, word_char, emphasised))
        self._word_last_voiced_end = end_sample

    def _flush_pause(self) -> None:
        if self._pause:
            self._phones.append(Phoneme(_PAUSE, self._pause[0] / self.rate, self._pause[1] / self.rate))
            self._pause = None

    def _close_word(self, next_offset: int) -> None:
        """Close the text from the last word event up to the next one. espeak folds some unstressed
        words into their neighbour's event ("I am" -> one event), so the span is re-tokenised and the
        event's time shared between its words in proportion to their length."""
        offset, start = self._word_starts.pop()
        end = max(start, self._word_last_voiced_end)
        tokens = [m.span() for m in _WORD_TOKEN.finditer(self.text, offset, max(offset, next_offset))]
        total = sum(b - a for a, b in tokens)
        t = start
        for a, b in tokens:
            t_end = t + (end - start) * (b - a) / total
            emphasised = any(x < b and a < y for x, y in self.emphasis)
            self._words.append(Word(self.text[a:b], a, b, t / self.rate, t_end / self.rate, emphasised))
            t = t_end

    def closed(self, samples_so_far: int) -> tuple[tuple[Phoneme, ...], tuple[Word, ...]]:
        phones, words = tuple(self._phones), tuple(self._words)
        self._phones, self._words = [], []
        return phones, words

    def finish(self, total_samples: int) -> tuple[tuple[Phoneme, ...], tuple[Word, ...]]:
        self._close_phone(total_samples)
        self._flush_pause()
        if self._word_starts:
            self._close_word(len(self.text))
        return self.closed(total_samples)
