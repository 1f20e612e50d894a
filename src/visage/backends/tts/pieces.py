"""Where a sentence is cut into the pieces a neural voice makes one after another.

A sentence-at-a-time voice (Piper) gives no audio before the whole piece it was handed is made, so
the first audio of a reply waits for its whole first piece. Live, with the browser on the same two
cores, that is about 0.2 s per second of audio (bench/bench_live.py traces: "I answer questions from
my knowledge base," 2.5 s of audio, 0.5-1.0 s to its first chunk). So a sentence is cut:

- after its first phrase mark (",;:"), when it has SPLIT_MIN_WORDS words or more;
- and a first piece that is still longer than FIRST_PIECE_WORDS words is cut again at a word boundary,
  before a word that opens a phrase (a preposition, conjunction or relative word: "I answer questions
  | from my knowledge base,"), where a speaker may take a short break; never inside a phrase that has
  no such word ("That is a great question," stays whole).

Each later piece is made while the one before plays, so a later piece with more than GROWTH times
the words of the one before is cut too where it can be (a word cut leaves three words before it and
two after). Where a cut has no punctuation, the voice makes the first part as a phrase (a comma: a
continuing, not a falling, end) and keeps only a short break between the two (neural.CUT_PAUSE_S).
"""
from __future__ import annotations

import re

# a word for timing purposes is the espeak voice's, so both voices name the same words of a sentence
from visage.backends.espeak.speech import _WORD_TOKEN

SPLIT_MIN_WORDS = 5  # sentences shorter than this are made whole (splitting would only cost prosody)
FIRST_PIECE_WORDS = 5  # a first piece with more words than this is cut again before a phrase-opening word
FIRST_WORDS_AT_CUT = 3  # words before a word cut: two are often a phrase's head alone ("The train | to
# the city"), a break no speaker makes
GROWTH = 3  # a later piece has at most this many times the words of the one before (when it can be cut):
# live, a piece takes 0.2-0.25 s per second of audio to make (bench_live traces, quiet), so one three
# times as long as the piece playing is ready before that one ends; each cut is a break in the speech
MIN_REST_WORDS = 2  # words after it (a lone word would be said as a sentence of its own)
_PHRASE_BREAK = re.compile(r"[,;:](?=\s)")
# Words an English phrase can start with and a speaker can pause before: prepositions, conjunctions,
# relative words. "of" and "to" are left out: they bind to the word before them ("a cup | of tea", "I am
# sorry | to hear", "the train | to the city").
PHRASE_OPENERS = frozenset(
    "about after and as at because before but by for from if in into like on or since so than that "
    "through until when where whether which while who whose with without".split())
_CLOSED = re.compile(r"[,;:.!?…—)\"']\s*$")


def split_pieces(text: str) -> list[tuple[int, int]]:
    """[start, end) spans of `text` to synthesise in turn (see the module's docstring)."""
    if len(_WORD_TOKEN.findall(text)) < SPLIT_MIN_WORDS:
        return [(0, len(text))]
    spans = [(0, len(text))]
    m = _PHRASE_BREAK.search(text)
    if m and _WORD_TOKEN.search(text, 0, m.start()) and len(_WORD_TOKEN.findall(text, m.end())) >= 2:
        spans = [(0, m.end()), (m.end(), len(text))]
    a, b = spans[0]
    cut = word_cut(text, a, b, FIRST_PIECE_WORDS, earliest=True)
    if cut is None:
        return spans
    spans[0:1] = [(a, cut), (cut, b)]
    # each later piece is made while the one before it plays: one that would take much longer to make
    # than that one lasts is cut too, as late as GROWTH allows (the fewest cuts)
    i = 1
    while i < len(spans):
        most = GROWTH * _words(text, *spans[i - 1])
        a, b = spans[i]
        cut = word_cut(text, a, b, most, earliest=False) if _words(text, a, b) > most else None
        if cut is not None:
            spans[i:i + 1] = [(a, cut), (cut, b)]
        i += 1
    return spans


def _words(text: str, a: int, b: int) -> int:
    return len(_WORD_TOKEN.findall(text, a, b))


def word_cut(text: str, a: int, b: int, most: int, earliest: bool) -> int | None:
    """Where text[a:b] is cut at a word boundary (the space before a phrase-opening word) with
    FIRST_WORDS_AT_CUT to `most` words before it, the earliest or the latest such; None when it has
    `most` words or fewer or no such boundary."""
    words = list(_WORD_TOKEN.finditer(text, a, b))
    if len(words) <= most:
        return None
    found = None
    for k in range(FIRST_WORDS_AT_CUT, min(most, len(words) - MIN_REST_WORDS) + 1):
        before, word = words[k - 1], words[k]
        if word.group().lower() in PHRASE_OPENERS and text[before.end():word.start()].isspace():
            found = before.end()  # (not across punctuation or a dash)
            if earliest:
                break
    return found


def ends_at_word_cut(text: str, b: int) -> bool:
    """Whether a piece ending at `b` ends mid-sentence without punctuation (a word cut)."""
    return b < len(text.rstrip()) and not _CLOSED.search(text[:b])
