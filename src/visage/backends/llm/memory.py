"""What the user tells about themselves (name, where they live or come from, what they like), read from
their messages and remembered for the session.

Why no store of its own: the conversation already holds every user turn (SQLite keeps them for saved
sessions, and folds old ones into a summary that keeps each turn's first sentence), so the facts are
read again from the history and the summary at each reply. The brain stays stateless, a reloaded
session remembers, and a later statement ("actually, my name is Hannah") replaces an earlier one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from visage.backends.llm.base import Conversation
from visage.core.text import HAN, has_han, is_chinese_language

_I = re.IGNORECASE
_NAME_WORD = r"(?P<name>[A-Z][a-zA-Z'-]{1,20}(?: [A-Z][a-zA-Z'-]{1,20})?)"
_NOT_NAMES = frozenset("""Sorry Fine Good Great Okay Ok Here Back Done Ready Lost Tired Bored Sad Happy Hungry Not So
Very Just Really Looking Trying Going Feeling From In At On A An The Sure Afraid Glad Alone Home Busy New Excited
Interested Visiting Still Also Well Happy Angry Scared Worried Nervous Confused Late Sick Cold Hot Single Married
Retired Old Young Allergic Vegan Vegetarian Tomorrow Tonight Today Later Back Now Soon Anytime Maybe When If At
Please Again Sometime""".split())
_TELL = {
    "en": [
        ("name", re.compile(r"\b(?i:my name(?:'s| is)|call me|i am called|i'm called|people call me|the name's)\s+"
                            r"(?P<name>[A-Za-z][a-zA-Z'-]{1,20}(?: [A-Z][a-zA-Z'-]{1,20})?)")),
        ("name", re.compile(r"(?:^|[,.!] ?)(?i:i'm|i am|it's|this is)\s+" + _NAME_WORD + r"\s*(?:[,.!]|$|(?i:and)\b)")),
        ("home", re.compile(r"\bi (?:live|am living|'m living|stay) in (?P<place>[\w' -]{2,40}?)\s*(?:[,.!?]|$|and\b)", _I)),
        ("origin", re.compile(r"\bi(?:'m| am| come) from (?P<place>[\w' -]{2,40}?)\s*(?:[,.!?]|$|and\b)", _I)),
        ("like", re.compile(r"\bi (?:really |do |also |just )*(?P<verb>like|love|enjoy|adore) (?P<thing>[\w' -]{2,40}?)"
                            r"\s*(?:[,.!]|$|and\b)", _I)),
    ],
    "zh": [
        ("name", re.compile(r"(?:我叫|我的名字(?:是|叫)|叫我)(?P<name>[" + HAN + r"A-Za-z]{1,6}?)(?:就行|就好|就可以|吧|。|，|！|$)")),
        ("name", re.compile(r"(?:^|，|,|。|！)我是(?P<name>[李王张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁"
                            r"潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺"
                            r"顾毛郝龚邵万钱严覃武戴莫孔向汤小老阿][" + HAN + r"]{1,2})(?:。|，|！|$)")),
        ("home", re.compile(r"我(?:住在|家在|现在住在|住)(?P<place>[" + HAN + r"A-Za-z]{2,10}?)(?:。|，|！|$)")),
        ("origin", re.compile(r"我(?:来自|是从)(?P<place>[" + HAN + r"A-Za-z]{2,10}?)(?:来的)?(?:。|，|！|$)|"
                              r"我是(?P<place2>[" + HAN + r"]{2,6}?)人(?:。|，|！|$)")),
        ("like", re.compile(r"我(?:很|特别|非常|超|挺|也|最|真的)*(?P<verb>喜欢|爱|热爱)(?P<thing>[" + HAN + r"A-Za-z]{1,12}?)"
                            r"(?:。|，|！|$)")),
    ],
}
_ASK = {
    "en": [
        ("name", re.compile(r"\b(what'?s my name|what is my name|do you (remember|know) (my name|who i am|what i'?m "
                            r"called)|who am i|what did i say my name was|what am i called|what'?s my name again)\b", _I)),
        ("home", re.compile(r"\b(where do i live|do you (remember|know) where i live)\b", _I)),
        ("origin", re.compile(r"\b(where am i from|where do i come from|do you (remember|know) where i'?m from)\b", _I)),
        ("like", re.compile(r"\b(what do i (like|love|enjoy)|do you (remember|know) what i (like|love|enjoy))\b", _I)),
        ("me", re.compile(r"\b(what do you (know|remember) about me)\b", _I)),
    ],
    "zh": [
        ("name", re.compile(r"我叫什么|我的名字(是什么|叫什么)|记得我(的名字|叫什么|是谁)|知道我(叫什么|是谁|的名字)|^我是谁")),
        ("home", re.compile(r"我住(在)?哪|记得我住(在)?哪|知道我住(在)?哪")),
        ("origin", re.compile(r"我是哪(里|儿)人|我来自哪|我从哪(里|儿)来")),
        ("like", re.compile(r"我喜欢什么|记得我喜欢什么|知道我喜欢什么|我爱什么")),
        ("me", re.compile(r"你(知道|记得|了解)(关于)?我(的)?什么")),
    ],
}
_QUESTION = re.compile(r"[?？]|什么|吗|哪|谁|\b(what|who|where|do you)\b", _I)
_PRONOUNS_EN = {"my": "your", "me": "you", "i": "you", "myself": "yourself", "mine": "yours"}
_THINGS_NOT_LIKED = re.compile(r"^(to |it|this|that|you|your|the way|a lot|我|你|他|她|它|这|那)", _I)


@dataclass(frozen=True)
class UserFacts:
    """What the user has said about themselves in this session (latest statement wins)."""

    name: str = ""
    home: str = ""
    origin: str = ""
    likes: tuple[tuple[str, str], ...] = field(default=())  # (verb as said, thing), oldest first

    def __bool__(self) -> bool:
        return bool(self.name or self.home or self.origin or self.likes)


def told(text: str, language: str) -> UserFacts:
    """The facts `text` states about the user; empty for a question ("what is my name?")."""
    lang = "zh" if is_chinese_language(language) else "en"
    facts = UserFacts()
    if any(p.search(text) for _, p in _ASK[lang]):
        return facts
    for kind, pattern in _TELL[lang]:
        m = pattern.search(text)
        if not m:
            continue
        if kind == "name" and not facts.name:
            name = m.group("name").strip()
            if name.split()[0].capitalize() not in _NOT_NAMES and not _QUESTION.search(name):
                facts = replace(facts, name=name[0].upper() + name[1:] if lang == "en" else name)
        elif kind in ("home", "origin") and not getattr(facts, kind):
            place = (m.group("place") or m.groupdict().get("place2") or "").strip()
            if place and not _QUESTION.search(place):
                facts = replace(facts, **{kind: place})
        elif kind == "like" and not _QUESTION.search(text):
            thing = m.group("thing").strip()
            if thing and not _THINGS_NOT_LIKED.search(thing):
                if lang == "en":
                    thing = " ".join(_PRONOUNS_EN.get(w.lower(), w) for w in thing.split())
                facts = replace(facts, likes=((m.group("verb").lower(), thing),))
    return facts


def asked(text: str, language: str) -> str:
    """Which fact the user asks the avatar to recall ("name", "home", "origin", "like", "me"), or ""."""
    lang = "zh" if is_chinese_language(language) else "en"
    return next((kind for kind, p in _ASK[lang] if p.search(text)), "")


def remembered(conversation: Conversation, language: str) -> UserFacts:
    """Everything the user has told about themselves so far: the session summary's user turns, then the
    recent history, each newer statement replacing an older one of the same kind."""
    users = re.findall(r"User: (.*?)(?= Assistant: | User: |$)", conversation.summary or "")
    said = users + [turn.text for turn in conversation.history if turn.role == "user"]
    facts = UserFacts()
    for text in said:
        lang = "zh" if re.search(r"[" + HAN + r"]", text) else "en"
        facts = merge(facts, told(text, lang))
    return facts


def merge(old: UserFacts, new: UserFacts) -> UserFacts:
    likes = old.likes + tuple(like for like in new.likes if like not in old.likes)
    return UserFacts(new.name or old.name, new.home or old.home, new.origin or old.origin, likes[-5:])
