"""What the embedded brain says when it has no answer: honest, varied, and with what it can do here.

Why: "I don't know that yet" said three times in a row, or a knowledge-base entry that only shares a
word, both make a host look broken. A fallback says plainly that the avatar does not know, fits the
situation (a complaint gets an offer to help and concern, a sad user gets an open ear, a question about
a place or a service gets the staff, an out-of-scope question gets a few topics it can talk about), and
picks phrasings and topics the previous reply did not use.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from visage.backends.llm.intents import asks_question
from visage.backends.llm.knowledge import KnowledgeBase
from visage.core.sentiment import UserMood
from visage.core.text import is_chinese_language
from visage.core.types import Emotion

SUGGESTED_TOPICS = 3
Step = tuple[str, dict[str, str]]  # a stock phrase's key and its fields
# Questions about a place or a service of the venue: the staff will know what the knowledge base does not.
_FACILITY = {
    "en": re.compile(r"\b(where (is|are|can i|do i)|is there|are there|do you have|can i (leave|get|buy|find|borrow|"
                     r"rent|use|charge|bring|store)|how do i find)\b", re.IGNORECASE),
    "zh": re.compile(r"在哪|哪里有|有没有|有.{1,8}吗|能不能(寄存|借|充电|存)|可以(寄存|借|充电|存)|怎么找"),
}


# A thing of the user's that went wrong (a flat phone, a lost ticket): not a complaint about the host or
# the venue, and nothing the avatar can fix; the staff might.
_PROBLEM = {
    "en": re.compile(r"\bmy [a-z]+( [a-z]+)? (is |are |was |has |got |went )?(broken|broke|dead|flat|lost|stolen|not working|"
                     r"stopped working|empty|stuck|missing|gone)\b|\bi (lost|broke|forgot|can'?t find) my\b", re.IGNORECASE),
    "zh": re.compile(r"我的.{1,6}(坏了|丢了|没电了?|不见了|用不了|打不开|被偷了|没油了|卡住了)|我(把)?.{0,6}(弄丢|丢了|忘带|找不到)了?"),
}


def is_problem(text: str, language: str) -> bool:
    """Whether the message tells of a thing of the user's that went wrong ("my phone is dead", "我的自行车坏了")."""
    return bool(_PROBLEM["zh" if is_chinese_language(language) else "en"].search(text))


def fallback(question: str, language: str, mood: UserMood, upset: bool) -> list[Step]:
    """The phrases for a message the brain has no answer to (before any topic suggestions)."""
    lang = "zh" if is_chinese_language(language) else "en"
    asks = asks_question(question)
    if is_problem(question, lang):
        return [("sorry_problem", {})]
    if upset:
        return [("offer_help", {})]
    if mood.emotion == Emotion.SAD and not asks:
        return [("talk_about_it", {})]
    if mood.emotion == Emotion.HAPPY and not asks:
        return [("glad", {}), ("how_can_i_help", {})]
    if _FACILITY[lang].search(question):
        return [("dont_know", {}), ("ask_staff", {})]
    if asks:
        return [("dont_know", {}), ("topics", {})]
    return [("statement_ack", {}), ("topics", {})]


def topics(kb: KnowledgeBase, language: str, turn: int) -> Iterator[Step]:
    """A few topics the knowledge base answers, a different few each time, then an offer of help."""
    entries = kb.in_language(language)
    firsts = [e for e in entries if e is {x.topic: x for x in reversed(entries)}[e.topic]]  # each section's first
    pool = firsts + [e for e in entries if e not in firsts]
    start = (turn // 2 * SUGGESTED_TOPICS) % len(pool)
    picked = [pool[(start + i) % len(pool)] for i in range(min(SUGGESTED_TOPICS, len(pool)))]
    picked.sort(key=entries.index)
    chosen = [e.question.rstrip("?？") for e in picked]
    if any(e.question.rstrip().endswith(("?", "？")) for e in picked):
        quoted = [f"“{q}？”" if language == "zh" else f"“{q}?”" for q in chosen]
        yield "you_can_ask", {"topics": join(quoted, language)}
    else:
        labels = chosen if language == "zh" else [_lower_first(q) for q in chosen]
        yield "i_can_tell", {"topics": join(labels, language)}
    yield "how_can_i_help", {}


def join(items: list[str], language: str) -> str:
    if len(items) < 2:
        return "".join(items)
    if language == "zh":
        return "、".join(items[:-1]) + "和" + items[-1]
    return ", ".join(items[:-1]) + " or " + items[-1]


def _lower_first(label: str) -> str:
    return label[0].lower() + label[1:] if len(label) > 1 and label[1].islower() else label
