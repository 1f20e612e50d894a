"""Subtitles from the spoken sentences: SRT (players, editors) and WebVTT (the browser's <track>).

Each sentence becomes one cue or, when long, several: lines hold at most MAX_LINE_WIDTH columns and a
cue at most MAX_LINES lines, the common broadcast limits that keep a cue readable at a glance. A
sentence split into several cues is timed by its words, so each cue appears while it is said. Chinese
has no spaces: it breaks between characters (never before punctuation), and counts two columns per
character because it is drawn twice as wide. Cues are written as each sentence ends (bounded memory)
into a temporary file renamed on commit.
"""
from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from visage.core.types import Sentence, Word
from visage.offline.files import AtomicPath
from visage.core.text import HAN

MAX_LINE_WIDTH = 42  # columns per line; a wide (CJK) character takes two
MAX_LINES = 2  # lines per cue
MIN_CUE_SECONDS = 0.3  # a cue shorter than this flickers; it borrows time from the next one

# A token is a run of non-space, non-CJK characters (a word with its punctuation), or one CJK
# character; CJK or full-width punctuation sticks to the token before it.
_TOKEN = re.compile(f"[{HAN}]" r"[\u3000-\u303f\uff00-\uff65…—,.!?;:]*" f"|[^\\s{HAN}]+")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple[str, ...]


def width(text: str) -> int:
    """Display columns: East Asian wide and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap_lines(text: str, max_width: int = MAX_LINE_WIDTH) -> list[tuple[int, int]]:
    """Greedy line breaks as (start, end) character spans of `text`; a word wider than a line is cut."""
    lines: list[tuple[int, int]] = []
    start = end = None
    for m in _TOKEN.finditer(text):
        a, b = m.span()
        while width(text[a:b]) > max_width:  # a huge token (a URL): cut it at the line width
            cut = a + _fit(text[a:b], max_width)
            if start is not None:
                lines.append((start, end))
            lines.append((a, cut))
            start = end = None
            a = cut
        if start is not None and width(text[start:b]) <= max_width:
            end = b
            continue
        if start is not None:
            lines.append((start, end))
        start, end = a, b
    if start is not None:
        lines.append((start, end))
    return lines


def _fit(token: str, max_width: int) -> int:
    used = 0
    for i, ch in enumerate(token):
        used += width(ch)
        if used > max_width:
            return max(i, 1)
    return len(token)


def cues_for(sentence: Sentence, words: Iterable[Word] = ()) -> list[Cue]:
    """The cues of one spoken sentence (its `end` must be known); `words` time a multi-cue split."""
    if sentence.end is None:
        raise ValueError("a sentence's cues need its end time")
    text = sentence.text
    lines = wrap_lines(text)
    if not lines:
        return []
    groups = [lines[i:i + MAX_LINES] for i in range(0, len(lines), MAX_LINES)]
    timed = sorted(words, key=lambda w: w.char_start)
    starts = [sentence.start] + [_time_at(g[0][0], text, timed, sentence) for g in groups[1:]]
    ends = starts[1:] + [sentence.end]
    cues = []
    for group, a, b in zip(groups, starts, ends):
        cues.append(Cue(a, max(a, b), tuple(text[s:e].strip() for s, e in group)))
    return _spread_short(cues)


def _time_at(char: int, text: str, words: list[Word], sentence: Sentence) -> float:
    """When the word at (or after) character `char` starts; by character share without word timings."""
    for w in words:
        if w.char_end > char:
            return min(max(w.start, sentence.start), sentence.end)
    share = char / max(len(text), 1)
    return sentence.start + share * (sentence.end - sentence.start)


def _spread_short(cues: list[Cue]) -> list[Cue]:
    """Give a too-short cue time from the next one (word timings can bunch at a cue boundary)."""
    out = list(cues)
    for i in range(len(out) - 1):
        a, b = out[i], out[i + 1]
        if a.end - a.start < MIN_CUE_SECONDS < b.end - a.start - MIN_CUE_SECONDS:
            cut = a.start + MIN_CUE_SECONDS
            out[i], out[i + 1] = Cue(a.start, cut, a.lines), Cue(cut, b.end, b.lines)
    return out


def timestamp(seconds: float, separator: str) -> str:
    """HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (WebVTT)."""
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{separator}{ms:03d}"


def format_cue(cue: Cue, number: int, vtt: bool) -> str:
    sep = "." if vtt else ","
    lines = [_escape_vtt(line) for line in cue.lines] if vtt else [line.replace("-->", "->") for line in cue.lines]
    return f"{number}\n{timestamp(cue.start, sep)} --> {timestamp(cue.end, sep)}\n" + "\n".join(lines) + "\n\n"


def _escape_vtt(line: str) -> str:
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SubtitleWriter:
    """Writes cues to an .srt or .vtt file (chosen by the suffix) as sentences end."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.vtt = self.path.suffix.lower() == ".vtt"
        self._out = AtomicPath(path)
        self._file = open(self._out.tmp, "w", encoding="utf-8", newline="\n")
        if self.vtt:
            self._file.write("WEBVTT\n\n")
        self.cues = 0

    def sentence(self, sentence: Sentence, words: Iterable[Word] = ()) -> None:
        for cue in cues_for(sentence, words):
            self.cues += 1
            self._file.write(format_cue(cue, self.cues, self.vtt))

    def commit(self) -> Path:
        self._file.close()
        return self._out.commit()

    def abort(self) -> None:
        self._file.close()
        self._out.abort()
