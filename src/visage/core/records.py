"""Plain-dict forms of visage's data, as they appear in the JSON files it writes (timings, motion).
One place, so every file spells a phoneme, a word or a sentence the same way."""
from __future__ import annotations

from visage.core.types import Phoneme, Sentence, Word


def phoneme_record(p: Phoneme) -> dict:
    return {"symbol": p.symbol, "start": round(p.start, 4), "end": round(p.end, 4), "stressed": p.stressed}


def word_record(w: Word) -> dict:
    return {"text": w.text, "sentence": w.sentence, "char_start": w.char_start, "char_end": w.char_end,
            "start": round(w.start, 4), "end": round(w.end, 4), "emphasised": w.emphasised}


def sentence_record(s: Sentence) -> dict:
    return {"index": s.index, "text": s.text, "start": round(s.start, 4),
            "end": None if s.end is None else round(s.end, 4), "language": s.language,
            "emotion": s.emotion.value, "intensity": s.intensity, "type": s.sentence_type.value,
            "emphasis": list(s.emphasis)}
