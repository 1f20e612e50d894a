"""Whether a knowledge-base hit is about what the user asked, not just a shared word.

Why a second check after BM25: a hit's confidence is the share of the query's information the entry
contains, and a short message can reach it through one word that is not its subject: "我心情不好" met
the accessibility entry at 不好 (in 视力不好), "where is the toilet?" the café at "where". Here the
question's content words are those left when question words ("where", 哪里) and words that say nothing
about a subject ("good", 不好, "now", 现在) are set aside. An entry answers when it covers most of their
information and one of them names its subject (its heading, other phrasings or section), or when it
covers nearly all of it; a weaker but on-subject match may be offered as "do you mean ...?".
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from visage.backends.llm.knowledge import Hit, KnowledgeBase, tokenize

ANSWER_COVERAGE = 0.5  # with a subject match: the share of the content words' information covered
ANSWER_COVERAGE_ANYWHERE = 0.85  # without one (a content word only in the answer text)
SUGGEST_COVERAGE = 0.3  # with a subject match, below ANSWER_COVERAGE: "do you mean ...?"

QUESTION_WORDS = frozenset("""what when where who why how which whom whose 什么 哪 哪里 哪儿 哪个 哪些 几 几点 多少 怎么 怎样
怎么办 谁 为什么 吗 呢 是不是 有没有 能不能 可不可以""".split())
# Words that describe rather than name a subject: a shared one is no evidence of a shared topic.
NON_SUBJECT = frozenset("""good bad nice great best better well fine ok okay happy sad right now today tonight
tomorrow yesterday currently here place time really please sorry thing lot 好 不好 很好 太好了 好的 不错 现在 今天 明天
昨天 这里 那里 时间 真的 一下 一点 还是 感觉 觉得 心情 东西 问题 事情""".split())


@dataclass(frozen=True)
class Relevance:
    coverage: float  # the share of the question's content information the entry contains
    subject: bool  # a content word of the question names the entry's subject
    content_terms: int  # how many content words the question has

    @property
    def answers(self) -> bool:
        if not self.content_terms:
            return False
        return self.coverage >= ANSWER_COVERAGE_ANYWHERE or self.subject and self.coverage >= ANSWER_COVERAGE

    @property
    def suggests(self) -> bool:
        return bool(self.content_terms) and self.subject and self.coverage >= SUGGEST_COVERAGE


# Task verbs: in "book me a tour" the subject is the tour, not booking (a request the avatar cannot do).
TASK_VERBS = frozenset("""book reserve schedule buy purchase order pay sell call phone ring send email text message
remind play get help 订 预订 预定 预约 买 购买 点 打电话 发 提醒 放 播放 帮 帮忙""".split())


@cache
def _index_forms(words: frozenset[str]) -> frozenset[str]:
    """The words as the index writes them (stemmed, synonyms folded), and as they are."""
    return frozenset(words | {t for w in words for t in tokenize(w)})


def content_terms(question: str, drop_task_verbs: bool = False) -> list[str]:
    """The question's index terms without question words and words that name no subject."""
    skip = _index_forms(QUESTION_WORDS | NON_SUBJECT | (TASK_VERBS if drop_task_verbs else frozenset()))
    return [t for t in dict.fromkeys(tokenize(question)) if t not in skip]


def relevance(kb: KnowledgeBase, hit: Hit, question: str, drop_task_verbs: bool = False) -> Relevance:
    """How well `hit` covers the content of `question`."""
    terms = content_terms(question, drop_task_verbs)
    if not terms:
        return Relevance(0.0, False, 0)
    total = covered = 0.0
    subject = False
    for term in terms:
        weight = kb.term_weight(term)
        share, on_subject = kb.match_share(term, hit.index)
        total += weight
        covered += weight * share
        subject = subject or (on_subject and share >= 0.5)
    return Relevance(round(covered / total, 3), subject, len(terms))
