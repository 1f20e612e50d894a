"""A small rule-based emotion guess for one sentence (`--emotion auto`), English and Chinese.

Why rules: it runs instantly on any CPU, explains itself, and is good enough to put a smile on "I am so
happy!" and a frown on "I am sorry for your loss." It is not a model: it sees keywords, a negation just
before them ("not happy" leans sad, "not afraid" cancels), intensifiers ("so", "very", 太, 非常) and the
punctuation ("!" strengthens, "?!" hints surprise). Irony, context and anything subtle are out of its
reach; a fuller classifier comes with the conversation model, which tags its own sentences.
"""
from __future__ import annotations

import re

from visage.core.types import Emotion

E = Emotion
_EN_WORDS: dict[Emotion, tuple[str, ...]] = {
    E.HAPPY: ("happy", "glad", "great", "wonderful", "love", "lovely", "awesome", "fantastic", "excellent",
              "delighted", "joy", "fun", "beautiful", "nice", "thanks", "thank", "congratulations", "yay",
              "excited", "enjoy", "enjoyed", "pleased", "perfect", "brilliant", "hooray", "good", "cheerful"),
    E.SAD: ("sad", "sorry", "unfortunately", "terrible", "awful", "miss", "lost", "lonely", "cry", "crying",
            "tears", "died", "death", "unhappy", "depressed", "disappointed", "disappointing", "regret",
            "heartbroken", "grief", "alas", "tragic", "tragedy", "sadly"),
    E.ANGRY: ("angry", "furious", "hate", "outraged", "unacceptable", "annoyed", "annoying", "mad", "rage",
              "ridiculous", "damn", "outrageous", "infuriating"),
    E.SURPRISED: ("wow", "whoa", "surprised", "surprise", "unbelievable", "incredible", "amazing", "suddenly",
                  "unexpected", "shocking", "shocked", "astonishing"),
    E.FEARFUL: ("afraid", "scared", "fear", "terrified", "worried", "worry", "nervous", "anxious", "danger",
                "dangerous", "panic", "frightened", "frightening", "scary"),
    E.DISGUSTED: ("disgusting", "disgusted", "gross", "yuck", "ew", "eww", "revolting", "nasty", "sickening",
                  "vile", "repulsive"),
}
_EN_PHRASES: dict[Emotion, tuple[str, ...]] = {
    E.SURPRISED: ("no way", "can't believe", "cannot believe", "oh my god", "oh my"),
    E.ANGRY: ("how dare", "fed up", "sick of"),
    E.SAD: ("passed away",),
}
_EN_NEGATIONS = {"not", "no", "never", "nothing", "without", "hardly", "barely", "neither", "nor"}
_EN_INTENSIFIERS = {"so", "very", "really", "extremely", "incredibly", "totally", "absolutely", "such", "too",
                    "truly", "deeply", "terribly", "super", "most"}

_ZH_WORDS: dict[Emotion, tuple[str, ...]] = {
    E.HAPPY: ("高兴", "开心", "快乐", "太好了", "喜欢", "爱", "棒", "幸福", "哈哈", "谢谢", "感谢", "恭喜", "美好",
              "精彩", "兴奋", "愉快", "满意", "好极了"),
    E.SAD: ("难过", "伤心", "悲伤", "遗憾", "对不起", "抱歉", "可惜", "失望", "痛苦", "哭", "去世", "孤独", "不幸",
            "糟糕"),
    E.ANGRY: ("生气", "愤怒", "气死", "讨厌", "可恶", "混蛋", "受够", "岂有此理", "太过分"),
    E.SURPRISED: ("哇", "天哪", "天啊", "竟然", "居然", "没想到", "惊讶", "不敢相信", "真的吗", "难以置信"),
    E.FEARFUL: ("害怕", "担心", "恐怖", "可怕", "紧张", "危险", "吓", "恐惧", "不安"),
    E.DISGUSTED: ("恶心", "作呕", "反感", "呸"),
}
_ZH_NEGATIONS = ("不", "没", "别", "未", "无")
_ZH_INTENSIFIERS = ("太", "非常", "很", "特别", "真", "超", "极", "十分", "好", "多么")

# A negated cue: "not happy" leans sad, "not sad" or "not afraid" only removes the cue.
_NEGATED_AS = {E.HAPPY: E.SAD}
INTENSIFIER_GAIN = 1.6
BASE_INTENSITY = 0.4  # a sentence with one plain cue
STEP = 0.15  # per extra unit of evidence and per "!"


def classify_emotion(text: str) -> tuple[Emotion, float]:
    """The emotion a sentence most plainly shows, and how strongly (0..1); (NEUTRAL, 0.5) without cues."""
    scores = dict.fromkeys(Emotion, 0.0)
    _score_english(text, scores)
    _score_chinese(text, scores)
    exclaims = min(text.count("!") + text.count("！"), 3)
    if re.search(r"[?？][!！]|[!！][?？]", text):
        scores[E.SURPRISED] += 0.5
    best = max(scores, key=lambda e: scores[e])
    if scores[best] < 0.5:
        return E.NEUTRAL, 0.5
    intensity = BASE_INTENSITY + STEP * (scores[best] - 1.0) + STEP * exclaims
    return best, round(min(1.0, max(0.2, intensity)), 2)


def _score_english(text: str, scores: dict[Emotion, float]) -> None:
    lowered = text.lower().replace("’", "'")
    for emotion, phrases in _EN_PHRASES.items():
        for phrase in phrases:
            scores[emotion] += len(re.findall(r"(?<![a-z'])" + re.escape(phrase) + r"(?![a-z'])", lowered))
    tokens = re.findall(r"[a-z]+(?:'[a-z]+)?", lowered)
    lookup = {w: e for e, words in _EN_WORDS.items() for w in words}
    for i, token in enumerate(tokens):
        emotion = lookup.get(token)
        if emotion is None:
            continue
        before = tokens[max(0, i - 3):i]
        if any(t in _EN_NEGATIONS or t.endswith("n't") for t in before):
            if emotion in _NEGATED_AS:
                scores[_NEGATED_AS[emotion]] += 0.6
            continue
        gain = INTENSIFIER_GAIN if any(t in _EN_INTENSIFIERS for t in before[-2:]) else 1.0
        scores[emotion] += gain


def _score_chinese(text: str, scores: dict[Emotion, float]) -> None:
    if not re.search(r"[\u4e00-\u9fff]", text):
        return
    for emotion, words in _ZH_WORDS.items():
        for word in words:
            for m in re.finditer(re.escape(word), text):
                # the three characters before the cue, within its clause
                before = re.split(r"[，,。！？!?、；;：:\s]", text[max(0, m.start() - 3):m.start()])[-1]
                if any(ch in _ZH_NEGATIONS for ch in before):
                    if emotion in _NEGATED_AS:
                        scores[_NEGATED_AS[emotion]] += 0.6
                    continue
                gain = INTENSIFIER_GAIN if any(before.endswith(w) for w in _ZH_INTENSIFIERS) else 1.0
                scores[emotion] += gain
