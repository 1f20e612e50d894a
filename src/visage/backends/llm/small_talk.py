"""Light chat and feelings: what a front-desk host answers to "how old are you?", "I'm bored" or
"我好累啊", in English and Chinese, before any knowledge-base search.

Why a small curated table: chit-chat is open-ended, but a handful of questions make up most of it, and
a fixed, honest answer (the avatar has no age, no favourite colour, shows emotions without feeling them)
is better than a knowledge-base entry that shares a word. Feelings are answered with warmth: sympathy
for sadness, joy shared, calm for worry, a break for tiredness, a joke offered for boredom.
"""
from __future__ import annotations

import re

from visage.backends.llm.intents import asks_question
from visage.core.sentiment import UserMood
from visage.core.text import HAN, is_chinese_language
from visage.core.types import Emotion

_I = re.IGNORECASE
# key of the answer (phrases.py) -> pattern per language; the first match wins.
_CHAT: list[tuple[str, dict[str, re.Pattern]]] = [
    ("age", {"en": re.compile(r"\b(how old are you|what('?s| is) your age|when were you born|your birthday)\b", _I),
             "zh": re.compile(r"你(今年)?(几岁|多大|多少岁)|你的(年龄|年纪|生日)")}),
    ("favourite", {"en": re.compile(r"\b(what'?s|what is|do you have a) (your )?fav(ou?)?rite (?P<thing>[a-z ]{2,20}?)"
                                    r"[\s?!.]*$", _I),
                   "zh": re.compile(r"你(最)?喜欢(什么|哪种|哪个|哪一种)(?P<thing>[" + HAN + r"]{1,6}?)[？?呢吗]*$")}),
    ("like_job", {"en": re.compile(r"\b(do|are) you (like|love|enjoy|happy (with|in|doing)) (your job|your work|"
                                   r"(it|working) here|this job|talking to (people|me)|what you do)\b", _I),
                  "zh": re.compile(r"你喜欢(你的)?(工作|这里|这份工作|和人聊天|和我聊天)")}),
    ("have_feelings", {"en": re.compile(r"\b(do you have (feelings|emotions)|can you feel|do you feel (anything|emotions"
                                        r"|things)|are you (happy|sad|alive|conscious))\b", _I),
                       "zh": re.compile(r"你(有|会有)(感情|情绪|感受|意识)|你会(难过|伤心|开心|生气)吗|你开心吗|你是活的")}),
    ("where_i_live", {"en": re.compile(r"\b(where do you live|where are you from|where are you)\b", _I),
                      "zh": re.compile(r"你(住在|住|在)哪|你是哪里(来的|人)|你从哪(里|儿)来")}),
    ("my_family", {"en": re.compile(r"\bdo you have (a )?(family|friends|kids|children|boyfriend|girlfriend|wife|husband|"
                                    r"partner|pets?)\b|are you married\b", _I),
                   "zh": re.compile(r"你有(家人|朋友|孩子|男朋友|女朋友|老婆|老公|对象)吗|你结婚了吗")}),
    ("body_needs", {"en": re.compile(r"\bdo you (ever )?(sleep|eat|drink|get tired|get hungry|dream|rest)\b|\bare you "
                                     r"(tired|hungry|sleepy)\b", _I),
                    "zh": re.compile(r"你(吃饭了|吃了)吗|你(要|会|需要|不用)?(睡觉|吃饭|休息|做梦)|你(累|饿|困)(不累|不饿|不困|了)?吗")}),
    ("what_doing", {"en": re.compile(r"^what are you doing[\s?!.]*$", _I), "zh": re.compile(r"你在(干|做)(什么|啥|嘛)")}),
    ("thanks_praise", {"en": re.compile(r"^(you'?re|you are) (so |very |really )?(smart|clever|funny|great|awesome|"
                                        r"amazing|cool|nice|helpful|the best|sweet|kind)\b|^(good job|well done|nice one)",
                                        _I),
                       "zh": re.compile(r"^你(真|好|太|很|挺)(棒|聪明|厉害|好|可爱|有趣|幽默)|^(干得好|真棒|厉害)")}),
    ("nice_to_meet_too", {"en": re.compile(r"\b(nice|pleased|glad|good) to meet you\b", _I),
                          "zh": re.compile(r"(很高兴|幸会|高兴)认识你")}),
    ("whats_up", {"en": re.compile(r"^(what'?s up|sup|wassup|what'?s new)[\s?!.]*$", _I),
                  "zh": re.compile(r"^(在吗|在不在|忙吗|干嘛呢)[？?]*$")}),
    ("love_you", {"en": re.compile(r"^i (really )?(love|like) you\b", _I), "zh": re.compile(r"^我(很|好)?(爱|喜欢)你")}),
    ("sorry_user", {"en": re.compile(r"^(sorry|my bad|oops)( about that| for that)?[\s!.]*$", _I),
                    "zh": re.compile(r"^(对不起|不好意思|抱歉)[啊呀！!。]*$")}),
]
_SELF = {"en": re.compile(r"^(oh,? |well,? |ugh,? |honestly,? |today,? )?(i|i'm|im|i am|i feel|i've been|i was|"
                          r"feeling|i get|today i|my day)\b", _I),
         "zh": re.compile(r"^(唉|哎|今天|最近|现在)?，?我|心情|感觉")}
_TIRED = {"en": re.compile(r"\b(tired|exhausted|sleepy|worn out|knackered)\b", _I), "zh": re.compile(r"累|困|疲惫|疲倦|没力气")}
_STRESSED = {"en": re.compile(r"\b(stressed|under (a lot of |so much )?pressure|overwhelmed|anxious)\b", _I),
             "zh": re.compile(r"压力(很|好|太|特别)?大|焦虑|烦躁|崩溃")}
_BORED = {"en": re.compile(r"\b(bored|boring)\b", _I), "zh": re.compile(r"无聊|没意思|好闷")}
_LONELY = {"en": re.compile(r"\b(lonely|alone)\b", _I), "zh": re.compile(r"孤独|寂寞|孤单|一个人")}


def chit_chat(text: str, language: str) -> tuple[str, dict[str, str]] | None:
    """The answer key (in phrases.py) and its fields for a chit-chat message, or None."""
    lang = "zh" if is_chinese_language(language) else "en"
    for key, patterns in _CHAT:
        m = patterns[lang].search(text.strip())
        if m:
            fields = {"thing": m.group("thing").strip()} if "thing" in m.groupdict() else {}
            return key, fields
    return None


def feeling(text: str, language: str, mood: UserMood) -> str:
    """How the user says they feel, when the message is about themselves: "sad", "happy", "fearful",
    "angry", "tired", "bored", "stressed", or "" (not a statement of feeling: a question, or about something else)."""
    lang = "zh" if is_chinese_language(language) else "en"
    text = text.strip()
    if not _SELF[lang].search(text) or asks_question(text):
        return ""
    for kind, patterns in (("tired", _TIRED), ("bored", _BORED), ("sad", _LONELY), ("stressed", _STRESSED)):
        if patterns[lang].search(text) and mood.emotion in (Emotion.NEUTRAL, Emotion.SAD, Emotion.FEARFUL):
            return kind
    if mood.complaint:
        return ""  # a complaint is answered as one
    return {Emotion.SAD: "sad", Emotion.HAPPY: "happy", Emotion.FEARFUL: "fearful", Emotion.ANGRY: "angry",
            Emotion.SURPRISED: "happy"}.get(mood.emotion, "")
