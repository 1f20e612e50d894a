"""The inline tags a chat model writes to drive the voice and the face, and their streaming parser.

The format (taught to the model by TAG_FORMAT_PROMPT):

    [happy 0.7] That is *wonderful* news! [neutral 0.4] When do you start?

* `[emotion intensity]` begins a sentence. The emotion is one of neutral, happy, sad, angry, surprised,
  fearful, disgusted (common synonyms and a few Chinese names are accepted; any other word means
  neutral). The intensity, 0..1, is optional (default 0.5), clamped, and may be written 70%.
* `*word*` (or `**word**`) marks a stressed word; at most MAX_EMPHASIS_WORDS per sentence are kept, and
  only words that really occur in the sentence.
* A tag belongs to the sentence it begins, or the one it lands in when written mid-sentence (the first
  tag of a sentence wins). It does NOT carry over: a sentence without a tag gets the rule-based
  classifier's emotion. Why: carry-over would let one early tag colour a whole reply, and a small model
  that forgets to tag is better served by reading each sentence's own words.

Why brackets and asterisks: 7B models already write both (stage directions, Markdown emphasis), so they
follow the format reliably, it costs only a few tokens per sentence, and it is easy to recognise in a
token stream. Tags are untrusted data, never markup: every bracketed group of up to MAX_TAG_CHARS is
removed from speech whether or not it parses (a malformed one simply leaves the sentence untagged),
HTML-like tags are removed, what is inside <think> (a reasoning model's thoughts), <script> and
<style> is never spoken, and stray brackets, asterisks and backticks are dropped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from visage.core import sentiment
from visage.core.text import SentenceSplitter, emphasis_spans, language_of, sentence_type_of
from visage.core.types import SentenceTags, Tagged, carries_tags

TAG_FORMAT_PROMPT = """\
You speak aloud through an animated face, so write only the words you say, as plain spoken sentences.
Begin every sentence with a tag in square brackets: the emotion you show while saying it, then its \
strength from 0 to 1, like [happy 0.7].
The emotions are: neutral, happy, sad, angry, surprised, fearful, disgusted.
Put *asterisks* around the one word you stress most in a sentence, if any.
Use no other markup: no lists, headings, emoji, links or code.
Example: [happy 0.8] That is *wonderful* news! [neutral 0.4] When do you start the new job?"""

# A bracketed group longer than this is text with a stray "[", not a tag ("[surprised 0.75]" is 16).
MAX_TAG_CHARS = 24
# An HTML-like tag longer than this is text with a stray "<".
MAX_MARKUP_CHARS = 64
# Emphasis longer than this (or across a line break) was a stray "*", e.g. "5 * 3".
MAX_EMPHASIS_CHARS = 40
# Stress on more than a few words per sentence is no stress at all, and overworks the face.
MAX_EMPHASIS_WORDS = 3
DEFAULT_INTENSITY = 0.5

_SPECIAL = re.compile(r"([\[\]*<>`])")
_TAG_BODY = re.compile(r"\s*([^\W\d_]+)\s*[:,=]?\s*([-+]?(?:\d+\.?\d*|\.\d+))?\s*(%)?\s*")
_MARKUP_START = re.compile(r"[A-Za-z/!?]")
_MARKUP_NAME = re.compile(r"(/?)\s*([A-Za-z][\w-]*)")
_ENDS_WITH_MARK = re.compile(r"[.!?;。！？；…][\"'”’)\]}」』）》\s]*$")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.!?;:，。！？；：、…)\]}」』）》”’])")
_WORD_EDGES = "\"'“”‘’.,!?;:()[]{}，。！？；：、…「」『』（）《》-—"
_UNSPOKEN_ELEMENTS = {"think", "script", "style"}
_ZH_EMOTIONS = {
    "中性": "neutral", "平静": "neutral", "开心": "happy", "高兴": "happy", "快乐": "happy", "难过": "sad",
    "伤心": "sad", "悲伤": "sad", "生气": "angry", "愤怒": "angry", "惊讶": "surprised", "害怕": "fearful",
    "恐惧": "fearful", "厌恶": "disgusted", "恶心": "disgusted",
}
_TEXT, _BRACKET, _ANGLE = "text", "bracket", "angle"


@carries_tags
@dataclass(frozen=True)
class TaggedSentence(Tagged):
    """A finished sentence: clean text and its tags, which the brain's reply and the voice carry on."""

    text: str
    tagged: bool = False  # False: the emotion is the classifier's guess
    tags: SentenceTags = field(default_factory=SentenceTags, kw_only=True)


def parse_tag(body: str) -> SentenceTags | None:
    """Read the inside of `[...]`: a word and an optional number, as the sentence's emotion and
    intensity (made valid by SentenceTags). None when it is not of that shape."""
    m = _TAG_BODY.fullmatch(body)
    if not m:
        return None
    name, number, percent = m.groups()
    value = DEFAULT_INTENSITY if number is None else float(number) / (100.0 if percent else 1.0)
    return SentenceTags(_ZH_EMOTIONS.get(name, name), value)


class _Splitter(SentenceSplitter):
    @property
    def held(self) -> str:
        """Text fed but not yet cut into a sentence: where a tag arriving now will land."""
        return self._buffer


class TagStreamParser:
    """Model tokens in, tagged sentences out, each the moment it is complete.

    Plain text goes straight to the sentence splitter; only markup characters ([ ] * < > `) switch to a
    slower path, and a possible tag is held back until its "]" (or MAX_TAG_CHARS) decides what it is.
    """

    def __init__(self, language: str = "en") -> None:
        self.language = language
        self._splitter = _Splitter()
        self._reset()

    def _reset(self) -> None:
        self._splitter.flush()
        self._mode = _TEXT
        self._pending = ""  # inside [...] or <...>
        self._run: list[str] = []  # text not yet given to the splitter
        self._emph: str | None = None  # text since an opening "*"
        self._after_star = False  # "**" is one marker
        self._unspoken: str | None = None  # inside <think>, <script> or <style>: the element's name
        self._tag: SentenceTags | None = None  # for the sentence being held (or the next one)
        self._emphasis: list[str] = []  # stressed words in the held text

    def feed(self, token: str) -> list[TaggedSentence]:
        """Add a piece of model output; return the sentences it completed."""
        out: list[TaggedSentence] = []
        if self._mode is _TEXT and self._emph is None and not self._unspoken and not _SPECIAL.search(token):
            if token:
                self._after_star = False
            self._emit(self._splitter.feed(token), out)
            return out
        self._consume(token, out)
        self._feed_run(out)
        return out

    def flush(self, complete_only: bool = False) -> list[TaggedSentence]:
        """End of the reply: return what is held. `complete_only` (a cut-off reply) keeps only sentences
        that end with an end mark, so a half sentence is never spoken. The parser is then ready for a
        new reply."""
        out: list[TaggedSentence] = []
        if self._mode is _BRACKET:  # an unclosed "[": its text is text
            self._mode, text = _TEXT, self._pending
            self._consume(text, out)
        self._feed_run(out)
        sentences = self._splitter.flush()
        if complete_only:
            sentences = [s for s in sentences if _ENDS_WITH_MARK.search(s)]
        self._emit(sentences, out)
        self._reset()
        return out

    # -- the lexer ------------------------------------------------------------------------------------
    def _consume(self, text: str, out: list[TaggedSentence]) -> None:
        for piece in _SPECIAL.split(text):
            if not piece:
                continue
            if len(piece) == 1 and piece in "[]*<>`":
                self._special(piece, out)
            else:
                self._text(piece, out)
            self._after_star = piece == "*"

    def _text(self, piece: str, out: list[TaggedSentence]) -> None:
        if self._mode is not _TEXT:
            self._pending += piece
            self._check_pending(out)
        elif not self._unspoken:
            self._run.append(piece)
            if self._emph is not None:
                self._emph += piece
                if len(self._emph) > MAX_EMPHASIS_CHARS or "\n" in self._emph:
                    self._emph = None

    def _special(self, ch: str, out: list[TaggedSentence]) -> None:
        mode = self._mode
        if mode is _TEXT:
            if ch == "[" and not self._unspoken:
                self._mode, self._pending = _BRACKET, ""
            elif ch == "<":
                self._mode, self._pending = _ANGLE, ""
            elif ch == "*" and not self._unspoken and not self._after_star:
                self._star(out)
            return  # "]", ">", "`", and anything unspoken, are dropped
        opener, closer = ("[", "]") if mode is _BRACKET else ("<", ">")
        if ch == closer:
            body, self._mode, self._pending = self._pending, _TEXT, ""
            self._close_bracket(body, out) if mode is _BRACKET else self._close_markup(body)
        elif ch == opener:  # "[[": the first one was stray; the second may open a tag
            self._abandon(out)
            self._special(ch, out)
        else:
            self._pending += ch
            self._check_pending(out)

    def _check_pending(self, out: list[TaggedSentence]) -> None:
        p = self._pending
        if self._mode is _BRACKET:
            bad = len(p) > MAX_TAG_CHARS or "\n" in p
        else:
            bad = len(p) > MAX_MARKUP_CHARS or "\n" in p or not _MARKUP_START.match(p)
        if bad:
            self._abandon(out)

    def _abandon(self, out: list[TaggedSentence]) -> None:
        """The held "[" or "<" opened no tag: drop it and read what followed as text."""
        text, self._mode, self._pending = self._pending, _TEXT, ""
        self._consume(text, out)

    def _close_markup(self, body: str) -> None:
        m = _MARKUP_NAME.match(body)
        name = m.group(2).lower() if m else ""
        if not self._unspoken and name in _UNSPOKEN_ELEMENTS and not m.group(1):
            self._unspoken = name
        elif self._unspoken == name and m.group(1):
            self._unspoken = None

    def _close_bracket(self, body: str, out: list[TaggedSentence]) -> None:
        self._feed_run(out)
        tag = parse_tag(body)
        if tag is None:
            return
        held = self._splitter.held
        if _speakable(held) and _ENDS_WITH_MARK.search(held):
            # A tag begins a sentence, so the held one is complete: emit it now, without waiting
            # for the next character to confirm its end.
            self._emit(self._splitter.flush(), out)
        if self._tag is None:
            self._tag = tag

    def _star(self, out: list[TaggedSentence]) -> None:
        if self._emph is None:
            self._emph = ""
            return
        words, self._emph = self._emph, None
        self._feed_run(out)
        held = self._splitter.held
        for word in _emphasis_words(words):
            if emphasis_spans(held, (word,)):
                self._emphasis.append(word)

    # -- sentences ------------------------------------------------------------------------------------
    def _feed_run(self, out: list[TaggedSentence]) -> None:
        if self._run:
            text, self._run = "".join(self._run), []
            self._emit(self._splitter.feed(text), out)

    def _emit(self, sentences: list[str], out: list[TaggedSentence]) -> None:
        if not sentences:
            return
        for i, text in enumerate(sentences):
            out.append(self._sentence(text, self._tag if i == 0 else None))
        self._tag = None
        held = self._splitter.held
        self._emphasis = [w for w in self._emphasis if emphasis_spans(held, (w,))]

    def _sentence(self, text: str, tag: SentenceTags | None) -> TaggedSentence:
        text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
        stressed: list[str] = []
        rest: list[str] = []
        for word in self._emphasis:
            if emphasis_spans(text, (word,)):
                if len(stressed) < MAX_EMPHASIS_WORDS and word.lower() not in (w.lower() for w in stressed):
                    stressed.append(word)
            else:
                rest.append(word)
        self._emphasis = rest
        tagged = tag is not None
        if tag is None:
            tag = SentenceTags(*sentiment.classify_emotion(text))
        tags = replace(tag, sentence_type=sentence_type_of(text), emphasis=tuple(stressed),
                       language=language_of(text, self.language))
        return TaggedSentence(text, tagged, tags=tags)


def _emphasis_words(text: str) -> list[str]:
    """The words inside one *...*: Latin phrases split into words, Chinese kept whole (no spaces)."""
    words = []
    for part in text.split():
        part = part.strip(_WORD_EDGES)
        if _speakable(part):
            words.append(part)
    return words


def _speakable(text: str) -> bool:
    return any(ch.isalnum() for ch in text)
