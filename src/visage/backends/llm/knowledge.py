"""A knowledge base the embedded brain answers from: Markdown or YAML FAQ files, searched with BM25.

Why BM25 rather than embeddings: no weights to download, an index built in milliseconds, and on a FAQ
of tens to thousands of short entries, lexical matching with light stemming, Chinese word segmentation
(jieba) and a few synonyms finds the right entry for most paraphrases (measured in
tests/test_brain_embedded.py). Each hit has a confidence, the share of the query's information (its
terms' IDF) that the entry contains, so the brain can say "I don't know" instead of answering a
question it has no entry for.

The file formats (Markdown, YAML FAQ) are described and read in knowledge_files.py.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from visage.backends.llm.knowledge_files import SUFFIXES, KnowledgeEntry, language_of, read_knowledge_file
from visage.errors import InputError
from visage.core.text import HAN, is_han

__all__ = ["Hit", "KnowledgeBase", "KnowledgeEntry", "language_of", "load_knowledge", "read_knowledge_file",
           "tokenize"]

# Below MIN_CONFIDENCE (a share of the query's information) an answer would be a guess: on the tests'
# questions, paraphrases score >= 0.49 but for two, unrelated questions <= 0.41. Between the two
# thresholds the brain asks "do you mean ...?"; under SUGGEST_CONFIDENCE it says it does not know.
MIN_CONFIDENCE = 0.45
SUGGEST_CONFIDENCE = 0.3
K1, B = 1.2, 0.75  # the usual BM25 constants
QUESTION_WEIGHT = 2.0  # a term in the question or topic counts twice one in the answer
UNKNOWN_TERM_WEIGHT = 0.8  # a query term no entry contains still weighs most of a rare one
BACKOFF_CREDIT = 0.3  # a Chinese word matched only through its characters is a weak match

# Question words stay: "who made it" and "what is it" should not meet at "it".
_EN_STOP = frozenset("""a an the and or of to in on at for with from by as is are was were be been being am do does
did doing have has had i me my mine you your yours we us our he she it its they them their this that these those
which whom whose can could would should will shall may might must please tell know want like about there here
just also any some so if then than too very not no yes really actually get got let lets im ive id youre dont
doesnt isnt whats hows wheres whens whos much many one thing things something anything use using need get give
make take put go come see say find into onto while during kept keep exactly exact stuff way lot bit still even
ever maybe possible possibly able ok okay hi hello hey thanks thank else other""".split())
_ZH_STOP = frozenset("""的 了 是 吗 呢 吧 啊 呀 啦 嘛 么 我 你 您 他 她 它 我们 你们 他们 在 和 与 及 或 就 都 也 还 又 这 那
这个 那个 这些 那些 怎样 如何 请问 请 可以 能 能不能 不能 会 要 想 知道 告诉 一下 一个 个 有 没有 有没有 为什么 为啥 给
让 把 被 对 从 到 说 问 下 上 里 中 啥 多 得 地 着 过 到底 东西 时候 地方 怎么样 该 用 做 一点 自己""".split())
_SYNONYMS = {
    "setup": "install", "license": "licence", "licensing": "licence", "licensed": "licence", "cost": "price",
    "costs": "price", "fee": "price", "fees": "price", "pay": "price", "charge": "price", "picture": "photo",
    "pictures": "photo", "photograph": "photo", "photographs": "photo", "photography": "photo",
    "gpu": "graphics", "offline": "internet", "online": "internet", "opening": "open", "closing": "close",
    "tongue": "language", "llm": "model", "chatbot": "model", "lunch": "food", "eat": "food", "drink": "food",
    "开馆": "开门", "营业": "开门", "开放": "开门", "闭馆": "关门", "票价": "价格", "钱": "价格", "费用": "价格",
    "收费": "价格", "价钱": "价格", "部署": "安装", "装": "安装", "离线": "联网", "断网": "联网", "网络": "联网",
    "上网": "联网", "照相": "拍照", "摄影": "拍照", "协议": "许可证", "授权": "许可证", "许可": "许可证",
    "吃饭": "餐饮", "用餐": "餐饮", "吃": "餐饮", "大模型": "语言模型", "quick": "fast", "quickly": "fast",
    "speedy": "fast", "respond": "answer", "response": "answer", "reply": "answer", "information": "data",
    "info": "data", "信息": "数据", "个人信息": "数据", "泄露": "隐私", "问答": "问题", "反应": "回答",
    "faq": "question", "小孩": "儿童", "孩子": "儿童", "小朋友": "儿童", "kid": "child", "kids": "child",
    "children": "child", "elevator": "lift", "program": "software", "app": "software", "application": "software",
}
_PIECES = re.compile(f"[{HAN}]+|" r"[A-Za-z][A-Za-z0-9'’+-]*|\d+")


@dataclass(frozen=True)
class Hit:
    """A search result: the entry (and its index in the base), BM25 score, confidence in 0..1, and the
    matched query terms, rarest first."""

    entry: KnowledgeEntry
    index: int
    score: float
    confidence: float
    terms: tuple[str, ...]


def tokenize(text: str) -> list[str]:
    """Index terms: English lower-cased, stemmed, without stopwords; Chinese cut by jieba (search mode,
    which adds the short words inside long ones), without particles; synonyms folded together."""
    terms: list[str] = []
    for piece in _PIECES.findall(text):
        if is_han(piece[:1]):
            words = [w for w in _jieba().lcut_for_search(piece, HMM=False) if w not in _ZH_STOP]
        else:
            word = piece.lower().replace("’", "'").removesuffix("'s")
            words = [] if word in _EN_STOP or len(word) < 2 and not word.isdigit() else [_stem(word)]
        terms.extend(_SYNONYMS.get(w, w) for w in words)
    return terms


def _stem(word: str) -> str:
    """A light English stemmer: enough to meet "installing", "installation" and "installs" at "install"."""
    word = _SYNONYMS.get(word, word)
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        word = word[:-1]
    for suffix, shortest in (("ation", 3), ("ing", 3), ("ed", 3), ("ly", 3), ("ment", 3), ("er", 5)):
        if word.endswith(suffix) and len(word) - len(suffix) >= shortest:
            word = word[: -len(suffix)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


@cache
def _jieba():
    """jieba, initialised once (its dictionary takes about half a second to load, so do it in load())."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def warm_up() -> None:
    """Load the Chinese segmenter now, so that the first Chinese question is answered at full speed."""
    _jieba()


class KnowledgeBase:
    """Entries and their BM25 index (question field and answer field, one IDF table)."""

    def __init__(self, entries: list[KnowledgeEntry]) -> None:
        if not entries:
            raise InputError("the knowledge base has no entries")
        self.entries = list(entries)
        self.languages = np.array([e.language for e in self.entries])
        questions = [tokenize(" ".join((e.question, *e.alternatives, e.topic))) for e in self.entries]
        answers = [tokenize(e.answer) for e in self.entries]
        self._terms = [set(q) | set(a) for q, a in zip(questions, answers)]
        self._question_terms = [set(q) for q in questions]
        n = len(self.entries)
        df = Counter(t for terms in self._terms for t in terms)
        self._idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self._unknown_idf = math.log(1 + (n + 0.5) / 0.5) * UNKNOWN_TERM_WEIGHT
        self._postings: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        for weight, field in ((QUESTION_WEIGHT, questions), (1.0, answers)):
            lengths = np.array([len(doc) for doc in field], dtype=float)
            norm = K1 * (1 - B + B * lengths / max(lengths.mean(), 1.0))
            by_term: dict[str, tuple[list[int], list[float]]] = {}
            for i, doc in enumerate(field):
                for term, tf in Counter(doc).items():
                    ids, values = by_term.setdefault(term, ([], []))
                    ids.append(i)
                    values.append(weight * tf * (K1 + 1) / (tf + norm[i]))
            for term, (ids, values) in by_term.items():
                self._postings.setdefault(term, []).append((np.array(ids), np.array(values)))

    def search(self, query: str, language: str | None = None, k: int = 3,
               min_confidence: float = MIN_CONFIDENCE) -> list[Hit]:
        """The best `k` entries for `query` with at least `min_confidence`, best first. Entries in
        `language` are preferred; a base with none in that language is searched whole."""
        groups = self._term_groups(list(dict.fromkeys(tokenize(query))))
        if not groups:
            return []
        terms = list(dict.fromkeys(t for _, _, pieces in groups for t in pieces))
        scores = np.zeros(len(self.entries))
        for term in terms:
            for ids, values in self._postings.get(term, ()):
                scores[ids] += self._idf[term] * values
        if language is not None and (mask := self.languages == language).any():
            scores[~mask] = 0.0
        total = sum(weight for _, weight, _ in groups)
        hits = []
        for i in np.argsort(-scores, kind="stable")[: max(k, 1) * 3]:
            if scores[i] <= 0:
                break
            doc = self._terms[i]
            found = sorted((t for t in terms if t in doc), key=lambda t: -self._idf[t])
            confidence = sum(weight * self._share(term, pieces, doc) for term, weight, pieces in groups) / total
            if confidence >= min_confidence:
                hits.append(Hit(self.entries[i], int(i), float(scores[i]), round(confidence, 3), tuple(found)))
        return hits[:k]

    def _term_groups(self, terms: list[str]) -> list[tuple[str, float, list[str]]]:
        """(query term, its weight, the index terms that stand for it). A Chinese word the index lacks
        stands for its characters that the index has: jieba may cut a question differently from the
        answer ("电脑上装" -> 电脑 / 上装, where 装 means install)."""
        groups = []
        for term in terms:
            weight = self._idf.get(term, self._unknown_idf)
            pieces = [term]
            if term not in self._idf and is_han(term[:1]) and len(term) > 1:
                chars = [_SYNONYMS.get(c, c) for c in term if c not in _ZH_STOP]
                pieces = [c for c in chars if c in self._idf] or pieces
            groups.append((term, weight, pieces))
        return groups

    def _share(self, term: str, pieces: list[str], doc: set[str]) -> float:
        """How much of a query term an entry matches: all of it, or part of it through its characters."""
        if pieces == [term]:
            return float(term in doc)
        return BACKOFF_CREDIT * sum(self._idf[p] for p in pieces if p in doc) / sum(self._idf[p] for p in pieces)

    def term_weight(self, term: str) -> float:
        """A term's information (IDF); a term no entry contains weighs as a rare one."""
        return self._idf.get(term, self._unknown_idf)

    def match_share(self, term: str, index: int) -> tuple[float, bool]:
        """How much of query term `term` entry `index` contains (1, a part through the term's characters,
        or 0), and whether it is in the entry's question side (heading, other phrasings, section)."""
        (_, _, pieces), = self._term_groups([term])
        share = self._share(term, pieces, self._terms[index])
        return share, any(p in self._question_terms[index] for p in pieces) and share > 0

    def best(self, query: str, language: str | None = None, min_confidence: float = MIN_CONFIDENCE) -> Hit | None:
        hits = self.search(query, language, 1, min_confidence)
        return hits[0] if hits else None

    def in_language(self, language: str) -> list[KnowledgeEntry]:
        """The entries in `language`, or all of them if there are none."""
        chosen = [e for e in self.entries if e.language == language]
        return chosen or self.entries


def load_knowledge(*paths: str | Path) -> KnowledgeBase:
    """Read knowledge files (Markdown or YAML, or folders of them) into one searchable base."""
    entries: list[KnowledgeEntry] = []
    for path in map(Path, paths):
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
            if not files:
                raise InputError(f"no knowledge files (.md, .yaml) in the folder {path}")
        else:
            files = [path]
        for file in files:
            entries.extend(read_knowledge_file(file))
    return KnowledgeBase(entries)
