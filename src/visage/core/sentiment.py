"""The emotion a sentence shows, English and Chinese, without model weights.

Used for `--emotion auto`, for an LLM's untagged sentences and to read the user's mood. Why rules and a
lexicon: they run in tens of microseconds on any CPU, need no download, and can be read and fixed by a
person. How a sentence is read: it is cut into tokens (English words; Chinese by longest match against
the lexicon, so 不错 and 没想到 stay words), and each token is an emotion cue with a weight, a negator, a
modifier, a contrast or concessive word, or a clause break. Cues add up per emotion, and

- a negator up to a few tokens before a cue, in the same clause, turns "happy" into sad and cancels any
  other cue ("not afraid" is calm); two negators cancel out ("没有不开心"; "not unhappy", where un- is one),
  and a negator is spent on the cue it negates ("neither good nor bad" is two negated cues, not one);
- modifiers just before a cue scale it: "very", "非常" strengthen, "a bit", "有点" soften;
- a contrast ("but", "但是") shrinks what came before, so the clause after it dominates, and a concessive
  clause ("although", "虽然") counts less;
- emoji and emoticons are cues of their own, "?!" hints surprise and a trailing "…" sadness; "!" and
  words in capitals raise the intensity, not the label.

- sarcasm: praise that opens a sentence and is followed by a mishap with no joy of its own ("Great,
  another delay.", "太好了，又晚点了。") reads as annoyance, from the lexicons' `sarcasm_openers` and `mishaps`;
- a single negated positive ("not good news", "不太好") is sad even when the positive word is a weak cue.

The strongest emotion wins; under MIN_SCORE the sentence is neutral. Irony beyond that cue, and world
knowledge, are out of reach. The lexicons live in visage/data/sentiment; accuracy is measured by tests/test_sentiment.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

import yaml

from visage.core.types import Emotion
from visage.core.text import HAN, is_han

MIN_SCORE = 0.5  # a label needs one plain cue or two hints
BASE_INTENSITY = 0.4  # a sentence with one plain cue
STEP = 0.15  # intensity per extra unit of evidence and per "!"
CAPS_STEP = 0.1  # intensity per cue written in capitals ("I am SO HAPPY")
CAPS_GAIN = 1.3  # and the weight of that cue
NEGATED_HAPPY_AS_SAD = 0.7  # "not happy" is sad, but less than "sad"
SARCASM_WEIGHT = 1.0  # "Great, another delay." is as annoyed as "annoyed"
BEFORE_CONTRAST = 0.4  # what was said before "but" still counts a little
CONCESSIVE = 0.4  # "although it rained, ..." is background
MODIFIER_SCOPE = 2  # tokens between a modifier and its cue
NEGATION_SCOPE = {"en": 3, "zh": 4}  # Chinese tokens are often single characters
PUNCT_CUES = {"?!": (Emotion.SURPRISED, 0.6), "…": (Emotion.SAD, 0.5)}

_TOKEN_RE = re.compile(f"[{HAN}]+|" r"[A-Za-z]+(?:['’][A-Za-z]+)*|[.!?;:,，。！？；：、…—]+")
_STEMS = (("ies", "y"), ("ied", "y"), ("ily", "y"), ("ing", ""), ("ing", "e"), ("ed", ""), ("ed", "e"),
          ("es", ""), ("s", ""), ("ly", ""), ("d", ""))

# A token: (kind, payload). Kinds: cue (tuple of (emotion, weight)), negcue (a cue with its own
# negation, "unhappy"), neg (its scope), mod (a gain), contrast, concessive, break, word.
Token = tuple[str, object]


@dataclass(frozen=True)
class UserMood:
    """How the user seems to feel, and whether they are complaining (about the product, the service)."""

    emotion: Emotion
    intensity: float
    complaint: bool


def classify_emotion(text: str) -> tuple[Emotion, float]:
    """The emotion a sentence most plainly shows, and how strongly (0..1); (NEUTRAL, 0.5) without cues."""
    scores, strength = _score(text)
    best = max(scores, key=lambda e: scores[e])
    if scores[best] < MIN_SCORE:
        return Emotion.NEUTRAL, 0.5
    intensity = BASE_INTENSITY + STEP * (scores[best] - 1.0) + strength
    return best, round(min(1.0, max(0.2, intensity)), 2)


def classify_user_mood(text: str) -> UserMood:
    """The user's mood for the brain: their emotion, and a complaint flag. A complaint with no clear
    emotion ("it doesn't work") reads as mild anger: the reply should be calm and helpful."""
    emotion, intensity = classify_emotion(text)
    lex = _lexicon()
    lowered = text.lower().replace("’", "'")
    complaint = bool(lex.complaint_en.search(lowered) or lex.complaint_zh.search(text))
    if complaint and emotion in (Emotion.NEUTRAL, Emotion.SURPRISED, Emotion.HAPPY):
        emotion, intensity = Emotion.ANGRY, 0.5 if emotion == Emotion.NEUTRAL else 0.4
    complaint = complaint or emotion in (Emotion.ANGRY, Emotion.DISGUSTED)
    return UserMood(emotion, intensity, complaint)


def _score(text: str) -> tuple[dict[Emotion, float], float]:
    """Per-emotion evidence, and the intensity added by "!" and capitals."""
    lex = _lexicon()
    scores = dict.fromkeys(Emotion, 0.0)
    rest = _sarcastic_rest(text)
    if rest is not None:  # the opener's praise is annoyance; the rest is read as it is
        scores[Emotion.ANGRY] += SARCASM_WEIGHT
    caps = _add_token_cues(_tokens(text if rest is None else rest), scores)
    for emotion, weight in _symbol_cues(text):
        scores[emotion] += weight
    lowered = text.lower()
    for pattern, emotion, weight in lex.patterns:
        if pattern.search(lowered):
            scores[emotion] += weight
    if re.search(r"[?？][!！]|[!！][?？]", text):
        emotion, weight = PUNCT_CUES["?!"]
        scores[emotion] += weight
    if re.search(r"(\.\.\.|…)\s*$", text):
        emotion, weight = PUNCT_CUES["…"]
        scores[emotion] += weight
    exclaims = min(len(re.findall(r"[!！]", text)), 3)
    return scores, STEP * exclaims + CAPS_STEP * min(caps, 2)


def _sarcastic_rest(text: str) -> str | None:
    """The text after a sarcastic opener ("Great, another delay." -> "another delay."), or None when
    the sentence does not open with praise for a mishap."""
    lex = _lexicon()
    lowered = text.lower().replace("’", "'").strip()
    m = lex.sarcasm_opener.match(lowered)
    if not m:
        return None
    rest = text.strip()[m.end():]
    if not lex.mishap.search(rest.lower()):
        return None
    scores = dict.fromkeys(Emotion, 0.0)
    _add_token_cues(_tokens(rest), scores)
    if scores[Emotion.HAPPY] >= MIN_SCORE and scores[Emotion.HAPPY] >= max(scores.values()):
        return None  # "Great, we won again!": joy, not sarcasm
    return rest


def _add_token_cues(tokens: list[Token], scores: dict[Emotion, float]) -> int:
    """Sum the cues into `scores`, applying negation, modifiers and contrast; returns the capitalised cues."""
    negs: list[tuple[int, int]] = []  # (position, scope) of the negators in this clause
    mods: list[tuple[int, float]] = []
    concessive = False
    caps = 0
    negated_happy: list[float] = []  # the sad weight each negated positive added
    negated = 0  # negated cues of any emotion
    for pos, (kind, payload) in enumerate(tokens):
        if kind == "break":
            negs, mods, concessive = [], [], False
        elif kind == "neg":
            negs.append((pos, payload))
        elif kind == "mod":
            mods.append((pos, payload))
        elif kind == "contrast":
            if payload == "initial" and pos > 0 and tokens[pos - 1][0] != "break":
                continue  # 考不过 is "cannot pass", not "however"
            for emotion in scores:
                scores[emotion] *= BEFORE_CONTRAST
            negs, mods, concessive = [], [], False
        elif kind == "concessive":
            concessive = True
        elif kind in ("cue", "negcue"):
            cues, upper = payload
            caps += upper
            negations = sum(1 for p, scope in negs if pos - p <= scope) + (kind == "negcue")
            gain = 1.0
            for p, g in mods:
                if pos - p <= MODIFIER_SCOPE:
                    gain *= g
            gain *= CAPS_GAIN if upper else 1.0
            clause = CONCESSIVE if concessive else 1.0
            negated += negations % 2
            negs = [(p, scope) for p, scope in negs if pos - p > scope]  # a negator negates one cue
            for emotion, weight in cues:
                if negations % 2 == 0:
                    scores[emotion] += weight * gain * clause
                elif emotion == Emotion.HAPPY:  # "not very happy" is only a little sad
                    negated_happy.append(weight * NEGATED_HAPPY_AS_SAD * clause / max(1.0, gain))
                    scores[Emotion.SAD] += negated_happy[-1]
    if len(negated_happy) == 1 and negated == 1 and negated_happy[0] < MIN_SCORE:
        scores[Emotion.SAD] += MIN_SCORE - negated_happy[0]  # "not good news" is a plain cue, not a hint
    return caps


def _tokens(text: str) -> list[Token]:
    lex = _lexicon()
    out: list[Token] = []
    words: list[str] = []  # the pending run of English words, for phrase matching

    def flush_words() -> None:
        out.extend(_english_tokens(words))
        words.clear()

    for m in _TOKEN_RE.finditer(text):
        piece = m.group()
        if is_han(piece[:1]):
            flush_words()
            out.extend(_chinese_tokens(piece, lex))
        elif piece[0].isalpha():
            words.append(piece.replace("’", "'"))
        else:
            flush_words()
            out.append(("break", None))
    flush_words()
    return out


def _english_tokens(words: list[str]) -> list[Token]:
    lex = _lexicon()
    lowered = [w.lower() for w in words]
    out: list[Token] = []
    i = 0
    while i < len(words):
        for phrase, entry in lex.en_phrases.get(lowered[i], ()):
            if tuple(lowered[i:i + len(phrase)]) == phrase:
                out.append(_with_caps(entry, words[i:i + len(phrase)]))
                i += len(phrase)
                break
        else:
            entry = _english_entry(lowered[i])
            out.append(_with_caps(entry, [words[i]]) if entry else ("word", None))
            i += 1
    return out


def _with_caps(entry: Token, words: list[str]) -> Token:
    kind, payload = entry
    if kind in ("cue", "negcue"):
        upper = bool(words) and all(w.isupper() and len(w) > 1 for w in words)
        return kind, (payload, upper)
    return entry


@lru_cache(maxsize=4096)
def _english_entry(word: str) -> Token | None:
    """The lexicon entry of a word, trying light stems, squeezed repeats ("sooo") and an un- prefix."""
    lex = _lexicon()
    if word.endswith("n't"):
        return lex.en_words.get(word, ("neg", NEGATION_SCOPE["en"]))
    candidates = [word, re.sub(r"(.)\1{2,}", r"\1\1", word), re.sub(r"(.)\1{2,}", r"\1", word)]
    for candidate in candidates:
        if candidate in lex.en_words:
            return lex.en_words[candidate]
        for suffix, repl in _STEMS:
            base = candidate[: -len(suffix)] + repl
            if candidate.endswith(suffix) and len(base) >= 3:
                for b in (base, base[:-1] if len(base) > 3 and base[-1] == base[-2] else None):
                    entry = lex.en_words.get(b) if b else None
                    if entry and entry[0] == "cue":
                        return entry
    if word.startswith("un") and len(word) > 5:
        entry = _english_entry(word[2:])
        if entry and entry[0] == "cue":
            return "negcue", entry[1]
    return None


def _chinese_tokens(run: str, lex: _Lexicon) -> list[Token]:
    out: list[Token] = []
    i = 0
    while i < len(run):
        for length in range(min(lex.zh_longest, len(run) - i), 0, -1):
            entry = lex.zh_words.get(run[i:i + length])
            if entry is not None:
                out.append(_with_caps(entry, []) if entry[0] == "cue" else entry)
                i += length
                break
        else:
            out.append(("word", None))
            i += 1
    return out


def _symbol_cues(text: str) -> list[tuple[Emotion, float]]:
    lex = _lexicon()
    found = [lex.emoji[ch] for ch in text if ch in lex.emoji]
    rest = text
    for emotion, pattern in lex.emoticons:
        hits = pattern.findall(rest)
        found.extend((emotion, 0.8) for _ in hits)
        rest = pattern.sub(" ", rest)
    return found


@dataclass(frozen=True)
class _Lexicon:
    en_words: dict[str, Token]
    en_phrases: dict[str, list[tuple[tuple[str, ...], Token]]]
    zh_words: dict[str, Token]
    zh_longest: int
    patterns: list[tuple[re.Pattern, Emotion, float]]
    emoji: dict[str, tuple[Emotion, float]]
    emoticons: list[tuple[Emotion, re.Pattern]]
    complaint_en: re.Pattern
    complaint_zh: re.Pattern
    sarcasm_opener: re.Pattern
    mishap: re.Pattern


@cache
def _lexicon() -> _Lexicon:
    """Load the lexicons once (on first use, so importing this module stays free)."""
    folder = resources.files("visage") / "data" / "sentiment"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    en, zh, symbols = (yaml.load((folder / f"{n}.yaml").read_text(encoding="utf-8"), Loader=loader)
                       for n in ("en", "zh", "symbols"))
    en_entries, zh_entries = _entries(en, "en"), _entries(zh, "zh")
    for word in zh.get("plain", ()):
        zh_entries[word] = ("word", None)
    en_words = {k: v for k, v in en_entries.items() if " " not in k}
    en_phrases: dict[str, list] = {}
    for key, entry in sorted(en_entries.items(), key=lambda kv: -len(kv[0].split())):
        if " " in key:
            parts = tuple(key.split())
            en_phrases.setdefault(parts[0], []).append((parts, entry))
    patterns = [(re.compile(p), Emotion(e), float(w)) for src in (en, zh)
                for e, table in src.get("patterns", {}).items() for p, w in table.items()]
    emoji = {ch: (Emotion(e), 1.0) for e, chars in symbols["emoji"].items() for ch in chars}
    emoticons = [(Emotion(e), re.compile(p)) for e, p in symbols["emoticons"].items()]
    words_en = "|".join(re.escape(w) for w in sorted(en["complaint"], key=len, reverse=True))
    openers = _alternatives(en["sarcasm_openers"] + zh["sarcasm_openers"])
    mishaps_en, mishaps_zh = _alternatives(en["mishaps"]), _alternatives(zh["mishaps"])
    return _Lexicon(en_words, en_phrases, zh_entries, max(map(len, zh_entries)), patterns, emoji, emoticons,
                    re.compile(rf"(?<![a-z']){'(?:' + words_en + ')'}(?![a-z'])"),
                    re.compile("|".join(map(re.escape, zh["complaint"]))),
                    re.compile(rf"^(?:oh,? |well,? |ah,? |哦，?|噢，?)?(?:{openers})(?![a-z'])[\s,.!，。！~]*"),
                    re.compile(rf"(?<![a-z'])(?:{mishaps_en})(?![a-z'])|{mishaps_zh}"))


def _alternatives(words: list[str]) -> str:
    return "|".join(re.escape(str(w)) for w in sorted(words, key=len, reverse=True))


def _entries(data: dict, language: str) -> dict[str, Token]:
    """word -> token entry. A word listed under several emotions carries all of them."""
    cues: dict[str, list[tuple[Emotion, float]]] = {}
    for emotion, groups in data["words"].items():
        for weight, words in groups.items():
            for word in words:
                cues.setdefault(str(word), []).append((Emotion(emotion), float(weight)))
    for emotion, table in data.get("phrases", {}).items():
        for phrase, weight in table.items():
            cues.setdefault(phrase, []).append((Emotion(emotion), float(weight)))
    entries: dict[str, Token] = {w: ("cue", tuple(c)) for w, c in cues.items()}
    for word in data["negators"]:
        entries.setdefault(word, ("neg", NEGATION_SCOPE[language]))
    for word, gain in data["modifiers"].items():
        entries.setdefault(word, ("mod", float(gain)))
    for word in data["contrast"]:
        entries.setdefault(word, ("contrast", None))
    for word in data.get("contrast_initial", ()):
        entries.setdefault(word, ("contrast", "initial"))
    for word in data["concessive"]:
        entries.setdefault(word, ("concessive", None))
    return entries
