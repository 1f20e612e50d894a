"""Text preparation for speech: cleaning untrusted text and cutting it into sentences as it streams.

Sentences are the unit of streaming in visage: the brain emits them, the voice speaks them and the
face takes its tags from them. The splitter is incremental (`feed` pieces, get finished sentences) so
that a model's token stream or a 100,000-character file is spoken with bounded memory and latency.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator

from visage.core.types import SentenceType

# A sentence with no end mark is cut at a pause mark after this many characters, and hard-cut after
# MAX_SENTENCE_CHARS, so that one run-on sentence never delays the first audio by much.
SOFT_SENTENCE_CHARS = 220
MAX_SENTENCE_CHARS = 400

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "a.m", "p.m",
    "u.s", "u.k", "inc", "ltd", "co", "corp", "no", "fig", "approx", "dept", "est", "mt", "jan",
    "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "gen", "col",
    "capt", "lt", "sgt", "rev", "hon", "ave", "blvd", "rd",
}
# Han characters: the CJK unified ideographs, extension A and the compatibility block. The one
# definition of "a Chinese character" in visage (a regex character-class body, for tokenisers).
HAN = "\u3400-\u9fff\uf900-\ufaff"
_HAN_CHAR = re.compile(f"[{HAN}]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_CHINESE_CODES = ("zh", "cmn", "yue", "chinese", "mandarin", "cantonese")
_CJK_ENDERS = "。！？；…"
_LATIN_ENDERS = ".!?;"
_CLOSERS = "\"'”’)]}」』）》"
_SOFT_BREAKS = ",，、：:—"


def clean_text(text: str) -> str:
    """Make untrusted text safe to speak: drop control and format characters (keeping line breaks as
    spaces), normalise Unicode compatibility forms, and collapse runs of whitespace."""
    text = unicodedata.normalize("NFKC", text) if not has_han(text) else unicodedata.normalize("NFC", text)
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\n\r\t\u2028\u2029":
            out.append(" ")
        elif cat in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        else:
            out.append(ch)
    return re.sub(r"\s+", " ", "".join(out)).strip()


def is_han(ch: str) -> bool:
    """Whether one character is a Chinese (Han) character."""
    return _HAN_CHAR.match(ch) is not None


def has_han(text: str) -> bool:
    """Whether the text holds any Chinese character (for matching: Chinese words have no spaces)."""
    return _HAN_CHAR.search(text) is not None


def count_han(text: str) -> int:
    return len(_HAN_CHAR.findall(text))


def language_of(text: str, default: str = "en") -> str:
    """The one rule for "is this text Chinese?": "zh" when its Chinese characters outnumber its Latin
    words ("怎么安装visage" is Chinese, "I love 北京 very much" is not), else `default`."""
    han = count_han(text)
    return "zh" if han and han >= len(_LATIN_WORD.findall(text)) else default


def is_chinese_language(code: str | None) -> bool:
    """Whether a language code or name (zh, zh-CN, cmn, yue, Chinese ...) means Chinese."""
    code = (code or "").strip().lower().replace("_", "-")
    return code in _CHINESE_CODES or code.startswith(tuple(c + "-" for c in _CHINESE_CODES))


def sentence_type_of(sentence: str) -> SentenceType:
    """Statement, question or exclamation, read from the sentence's final punctuation."""
    tail = sentence.rstrip(_CLOSERS + " ")
    if tail.endswith(("?", "？")) or tail.endswith(("?!", "？！", "!?", "！？")):
        return SentenceType.QUESTION
    if tail.endswith(("!", "！")):
        return SentenceType.EXCLAMATION
    return SentenceType.STATEMENT


class SentenceSplitter:
    """Incremental sentence segmentation for English-like and Chinese text.

    A sentence ends at . ! ? ; (and their full-width forms, and …) followed by closing quotes or
    brackets, unless the period belongs to an abbreviation, an initial or a number (3.14, U.S.).
    Held text never grows past MAX_SENTENCE_CHARS.
    """

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, piece: str) -> list[str]:
        """Add text and return the sentences it completed; the tail waits for more text."""
        self._buffer += piece
        return self._drain(final=False)

    def flush(self) -> list[str]:
        """Return whatever is held as the last sentences (end of a reply or a file)."""
        done = self._drain(final=True)
        tail, self._buffer = clean_text(self._buffer), ""
        if _speakable(tail):
            done.append(tail)
        return done

    def _drain(self, final: bool) -> list[str]:
        done: list[str] = []
        while (cut := self._find_cut(final)) is not None:
            sentence, self._buffer = self._buffer[:cut], self._buffer[cut:]
            sentence = clean_text(sentence)
            if _speakable(sentence):
                done.append(sentence)
        return done

    def _find_cut(self, final: bool) -> int | None:
        buf = self._buffer
        n = len(buf)
        i = 0
        while i < n:
            ch = buf[i]
            if ch in _CJK_ENDERS or ch in _LATIN_ENDERS:
                j = i + 1
                while j < n and (buf[j] in _CJK_ENDERS or buf[j] in _LATIN_ENDERS or buf[j] in _CLOSERS):
                    j += 1
                if j >= n and not final:
                    return None  # the end mark may continue ("..." or "?!") or be a decimal point
                if ch in _CJK_ENDERS or self._ends_sentence(buf, i, j):
                    return j
                i = j
                continue
            i += 1
        if n > SOFT_SENTENCE_CHARS:
            soft = max(buf.rfind(c, 0, MAX_SENTENCE_CHARS) for c in _SOFT_BREAKS)
            if soft >= SOFT_SENTENCE_CHARS // 2:
                return soft + 1
            if n >= MAX_SENTENCE_CHARS:
                space = buf.rfind(" ", 0, MAX_SENTENCE_CHARS)
                return space + 1 if space > MAX_SENTENCE_CHARS // 2 else MAX_SENTENCE_CHARS
        return None

    @staticmethod
    def _ends_sentence(buf: str, mark: int, after: int) -> bool:
        if buf[mark] != ".":
            return after >= len(buf) or buf[after].isspace() or has_han(buf[after])
        if after < len(buf) and not buf[after].isspace():
            return False  # 3.14, e.g., example.com
        word = re.search(r"([A-Za-z.]+)$", buf[:mark])
        if word:
            token = word.group(1).lower().strip(".")
            if token in _ABBREVIATIONS or len(token) == 1:
                return False  # "Dr. Smith", "J. R. R. Tolkien"
        rest = buf[after:].lstrip()
        if rest and rest[0].islower():
            return False  # a lowercase continuation is not a new sentence
        return True


def _speakable(sentence: str) -> bool:
    return any(ch.isalnum() for ch in sentence)


def split_sentences(text: str) -> list[str]:
    """Split a whole text into cleaned, speakable sentences."""
    splitter = SentenceSplitter()
    return splitter.feed(text) + splitter.flush()


def iter_sentences(pieces: Iterable[str]) -> Iterator[str]:
    """Sentences from a stream of text pieces (file blocks, model tokens), as each completes."""
    splitter = SentenceSplitter()
    for piece in pieces:
        yield from splitter.feed(piece)
    yield from splitter.flush()


def emphasis_spans(text: str, emphasis: tuple[str, ...]) -> list[tuple[int, int]]:
    """Character spans of the emphasised words: whole-word, case-insensitive matches for alphabetic
    scripts, substring matches for Chinese (which has no spaces)."""
    spans = []
    for target in emphasis:
        target = target.strip()
        if not target:
            continue
        if has_han(target):
            pattern = re.escape(target)
        else:
            pattern = r"(?<!\w)" + re.escape(target) + r"(?!\w)"
        for m in re.finditer(pattern, text, flags=re.IGNORECASE):
            spans.append((m.start(), m.end()))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a < merged[-1][1]:
            continue
        merged.append((a, b))
    return merged
