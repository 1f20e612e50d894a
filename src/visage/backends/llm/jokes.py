"""A small curated set of clean jokes in each language, told without repeating one in a session.

Why curated: a joke the avatar makes up could be anything; these were chosen to be harmless for any
audience, short enough to say in two sentences, and (for Chinese) jokes that work in Chinese rather than
translations. Each is a setup (said neutrally, often a question) and a punchline (said with a smile).
"""
from __future__ import annotations

from visage.core.text import is_chinese_language

JOKES: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        ("Why did the scarecrow win an award?", "Because he was outstanding in his field."),
        ("What do you call a fake noodle?", "An impasta."),
        ("Why can't a bicycle stand up by itself?", "Because it's two tired."),
        ("What do you call a bear with no teeth?", "A gummy bear."),
        ("Why don't skeletons fight each other?", "They don't have the guts."),
        ("What did the ocean say to the beach?", "Nothing, it just waved."),
        ("Why did the computer go to the doctor?", "Because it had a virus, of course."),
    ),
    "zh": (
        ("为什么数学书总是愁眉苦脸？", "因为它的问题太多了。"),
        ("熊猫这辈子最大的愿望是什么？", "拍一张彩色照片。"),
        ("什么东西越洗越脏？", "水。"),
        ("为什么冬天大家都不爱出门？", "因为外面太“冻人”了。"),
        ("小明问爸爸：“我是不是傻孩子？”", "爸爸说：“傻孩子，怎么会呢？”"),
        ("哪种海鲜最容易摔倒？", "螃蟹，因为它总是横着走。"),
        ("电脑为什么从来不会感冒？", "因为它有杀毒软件。"),
    ),
}


def next_joke(language: str, said: str, turn: int = 0) -> tuple[str, str] | None:
    """A joke not yet told in `said` (the avatar's earlier replies), starting at a turn-dependent one;
    None when all have been told."""
    jokes = JOKES["zh" if is_chinese_language(language) else "en"]
    for i in range(len(jokes)):
        setup, punchline = jokes[(turn // 2 + i) % len(jokes)]
        if setup not in said:
            return setup, punchline
    return None


def is_joke(text: str) -> bool:
    """Whether a reply the avatar gave told one of these jokes (so "another one" means another joke)."""
    return any(setup in text for jokes in JOKES.values() for setup, _ in jokes)


def joke_part(sentence: str) -> str:
    """"setup" or "punchline" when `sentence` is part of one of the jokes, else ""."""
    for jokes in JOKES.values():
        for setup, punchline in jokes:
            if sentence in (setup, punchline):
                return "setup" if sentence == setup else "punchline"
    return ""
