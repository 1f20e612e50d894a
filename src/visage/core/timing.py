"""Joining timings that come separately: which word each phone belongs to, and which are emphasised.

The embedded voice knows this as it speaks; for audio timed afterwards by an aligner the same facts are
derived here from the word spans, so every voice feeds the face the same information.
"""
from __future__ import annotations

from dataclasses import replace

from visage.core.text import emphasis_spans
from visage.core.types import Phoneme, Word


def mark_emphasised_words(words: tuple[Word, ...], text: str, emphasis: tuple[str, ...]) -> tuple[Word, ...]:
    """Flag the words of `text` that the emphasis list names."""
    spans = emphasis_spans(text, emphasis)
    return tuple(replace(w, emphasised=any(a < w.char_end and w.char_start < b for a, b in spans)) for w in words)


def attach_words(phonemes: tuple[Phoneme, ...], words: tuple[Word, ...]) -> tuple[Phoneme, ...]:
    """Give each sounding phone the word whose time span holds its midpoint (and that word's emphasis)."""
    out = []
    i = 0
    for p in phonemes:
        mid = 0.5 * (p.start + p.end)
        while i < len(words) and words[i].end <= mid:
            i += 1
        w = words[i] if i < len(words) and words[i].start <= mid and p.symbol != "_" else None
        out.append(replace(p, word=w.char_start if w else -1, emphasised=bool(w and w.emphasised)))
    return tuple(out)
