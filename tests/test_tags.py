"""The inline tag format and its streaming parser: same sentences however the tokens fall, tags are
data (never spoken, never trusted), and untagged sentences get the classifier's emotion."""
from __future__ import annotations

import random

import pytest

from visage.core.sentiment import classify_emotion
from visage.core.tags import (
    MAX_EMPHASIS_WORDS,
    TAG_FORMAT_PROMPT,
    TagStreamParser,
    parse_tag,
)
from visage.core.text import emphasis_spans
from visage.core.types import Emotion, SentenceTags, SentenceType

TAGGED = ("[happy 0.7] That is *wonderful* news! [neutral 0.4] When do you start the new job? "
          "[surprised 0.9] Wow, that is *so* soon! I am sorry you had to wait. [sad 0.3] It has been a long year.")
ZH = "[开心 0.9]今天天气真*好*！[sad 0.6]可是我明天要走了。[surprised]真的吗？"
TEXTS = [TAGGED, ZH, "Hi.[happy] Yes, I *really* do. [fear 0.5] Careful on the stairs!",
         "No tags here at all. I am so happy today! [angry 1] This is **unacceptable**!"]


def parse(text: str, chunks: list[str] | None = None, language: str = "en"):
    parser = TagStreamParser(language)
    out = []
    for piece in chunks if chunks is not None else [text]:
        out += parser.feed(piece)
    return out + parser.flush()


def random_chunks(text: str, rng: random.Random) -> list[str]:
    cuts = sorted(rng.sample(range(1, len(text)), rng.randint(1, min(40, len(text) - 1))))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]


def test_the_prompt_teaches_every_emotion_and_both_marks():
    for emotion in Emotion:
        assert emotion.value in TAG_FORMAT_PROMPT
    assert "[happy 0.7]" in TAG_FORMAT_PROMPT and "*" in TAG_FORMAT_PROMPT
    example = TAG_FORMAT_PROMPT.split("Example:")[1]
    assert [s.emotion for s in parse(example)] == [Emotion.HAPPY, Emotion.NEUTRAL]


def test_a_tagged_reply_becomes_clean_tagged_sentences():
    out = parse(TAGGED)
    assert [s.text for s in out] == [
        "That is wonderful news!", "When do you start the new job?", "Wow, that is so soon!",
        "I am sorry you had to wait.", "It has been a long year."]
    assert [(s.emotion, s.intensity) for s in out[:3]] == [
        (Emotion.HAPPY, 0.7), (Emotion.NEUTRAL, 0.4), (Emotion.SURPRISED, 0.9)]
    assert [s.sentence_type for s in out[:3]] == [
        SentenceType.EXCLAMATION, SentenceType.QUESTION, SentenceType.EXCLAMATION]
    assert out[0].emphasis == ("wonderful",) and out[2].emphasis == ("so",) and out[1].emphasis == ()
    assert all(s.language == "en" for s in out)
    assert out[4].emotion == Emotion.SAD and out[4].intensity == 0.3 and out[4].tagged


@pytest.mark.parametrize("text", TEXTS)
def test_every_split_position_gives_the_same_sentences(text):
    whole = parse(text)
    for i in range(1, len(text)):
        assert parse(text, [text[:i], text[i:]]) == whole, f"split at {i}: {text[:i]!r} | {text[i:]!r}"


@pytest.mark.parametrize("text", TEXTS)
def test_char_by_char_and_random_chunkings_give_the_same_sentences(text):
    whole = parse(text)
    assert parse(text, list(text)) == whole
    rng = random.Random(7)
    for _ in range(200):
        assert parse(text, random_chunks(text, rng)) == whole


def test_a_tag_split_across_tokens_is_read_whole():
    out = parse("", ["[hap", "py 0.", "7] Hel", "lo *wor", "ld*! "])
    assert [(s.text, s.emotion, s.intensity, s.emphasis) for s in out] == [
        ("Hello world!", Emotion.HAPPY, 0.7, ("world",))]


def test_a_sentence_is_emitted_as_soon_as_it_is_complete():
    parser = TagStreamParser()
    assert parser.feed("[happy 0.6] Hello there") == []
    done = parser.feed(". [sad] And")
    assert [(s.text, s.emotion) for s in done] == [("Hello there.", Emotion.HAPPY)]
    # A tag right after an end mark confirms the sentence without waiting for more text.
    assert [s.text for s in parser.feed(" now bye.[neutral]")] == ["And now bye."]
    assert [s.text for s in parser.flush()] == []


@pytest.mark.parametrize("body, tag", [
    ("happy 0.7", SentenceTags(Emotion.HAPPY, 0.7)),
    ("HAPPY", SentenceTags(Emotion.HAPPY, 0.5)),
    ("sad:.25", SentenceTags(Emotion.SAD, 0.25)),
    ("angry 80%", SentenceTags(Emotion.ANGRY, 0.8)),
    ("happy 99", SentenceTags(Emotion.HAPPY, 1.0)),
    ("fearful -3", SentenceTags(Emotion.FEARFUL, 0.0)),
    ("scared 0.6", SentenceTags(Emotion.FEARFUL, 0.6)),
    ("curious 0.6", SentenceTags(Emotion.NEUTRAL, 0.6)),
    ("生气 0.8", SentenceTags(Emotion.ANGRY, 0.8)),
    ("<script> 9", None), ("1", None), ("", None), ("happy very much", None), ("a(b)", None),
])
def test_tag_bodies_are_validated(body, tag):
    assert parse_tag(body) == tag


@pytest.mark.parametrize("text, spoken", [
    ("[<script> 9] Hello there.", "Hello there."),
    ("<script>alert('x')</script>Hello there.", "Hello there."),
    ("Hello <b>bold</b> world.", "Hello bold world."),
    ("[[[ Hello there.", "Hello there."),
    ("Hello ]] there`s` `code`.", "Hello theres code."),
    ("Tea [citation needed] is hot.", "Tea is hot."),
    ("Five * three is fifteen.", "Five three is fifteen."),
    ("A [very long bracketed aside that is not a tag] here.", "A very long bracketed aside that is not a tag here."),
    ("<think>The user wants [happy] *stuff*.</think>[happy 0.5] Sure thing!", "Sure thing!"),
    ("So 3 < 5 and 7 > 2.", "So 3 5 and 7 2."),
])
def test_markup_never_reaches_speech(text, spoken):
    out = parse(text)
    assert [s.text for s in out] == [spoken]
    assert parse(text, list(text)) == out


def test_malicious_tags_are_ignored_or_clamped():
    out = parse("[<script> 9] Hello there. [happy 99] Great day! [happy -1] Fine. [unknown 0.8] Odd.")
    assert out[0].emotion == classify_emotion("Hello there.")[0] and not out[0].tagged
    assert (out[1].emotion, out[1].intensity) == (Emotion.HAPPY, 1.0)
    assert (out[2].emotion, out[2].intensity) == (Emotion.HAPPY, 0.0)
    assert (out[3].emotion, out[3].intensity) == (Emotion.NEUTRAL, 0.8)


def test_chinese_text_with_tags():
    out = parse(ZH, list(ZH), language="en")
    assert [s.text for s in out] == ["今天天气真好！", "可是我明天要走了。", "真的吗？"]
    assert [(s.emotion, s.intensity) for s in out] == [
        (Emotion.HAPPY, 0.9), (Emotion.SAD, 0.6), (Emotion.SURPRISED, 0.5)]
    assert out[0].emphasis == ("好",) and out[2].sentence_type == SentenceType.QUESTION
    assert all(s.language == "zh" for s in out)


def test_language_is_per_sentence():
    out = parse("[happy] Okay. 好的。", language="en")
    assert [s.language for s in out] == ["en", "zh"]
    assert [s.language for s in parse("Okay.", language="zh")] == ["zh"]


def test_untagged_sentences_use_the_classifier_and_tags_do_not_carry_over():
    out = parse("[angry 0.9] This is *unacceptable*! I am so happy today! The weather is mild.")
    assert out[0].emotion == Emotion.ANGRY and out[0].tagged
    for s in out[1:]:
        assert not s.tagged
        assert (s.emotion, s.intensity) == classify_emotion(s.text)
    assert out[1].emotion == Emotion.HAPPY and out[2].emotion == Emotion.NEUTRAL


def test_a_tag_mid_sentence_tags_that_sentence_and_the_first_tag_wins():
    out = parse("I am [sad 0.8] really [happy] tired. Next one.")
    assert [(s.text, s.emotion, s.intensity) for s in out][0] == ("I am really tired.", Emotion.SAD, 0.8)
    assert not out[1].tagged


def test_emphasis_must_occur_in_its_sentence():
    out = parse("I *like. You* too. *<b>* Plain. *[happy]* Plain again.")
    assert [(s.text, s.emphasis) for s in out] == [
        ("I like.", ()), ("You too.", ("You",)), ("Plain.", ()), ("Plain again.", ())]
    many = parse("*One* *two* *three* *four* *five* words.")[0]
    assert len(many.emphasis) == MAX_EMPHASIS_WORDS
    phrase = parse("This is **very important** to me.")[0]
    assert phrase.emphasis == ("very", "important")


def test_a_cut_off_reply_keeps_only_complete_sentences():
    parser = TagStreamParser()
    assert [s.text for s in parser.feed("[happy] One done! Two half")] == ["One done!"]
    assert parser.flush(complete_only=True) == []
    assert parser.feed("[happy] Three done!") == []  # held: the "!" might be followed by "?"
    assert [s.text for s in parser.flush(complete_only=True)] == ["Three done!"]
    assert parser.feed("[sad] Again.") == [] and [s.emotion for s in parser.flush()] == [Emotion.SAD]


def test_random_garbage_never_breaks_the_invariants():
    rng = random.Random(3)
    alphabet = list("[]*<>`:.!?0123456789 ") + ["happy", "sad", "Hello", "world", "think", "/", "好", "。", "\n", "-"]
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80)))
        out = parse(text, random_chunks(text, rng) if len(text) > 1 else None)
        for s in out:
            assert not set(s.text) & set("[]*<>`"), (text, s.text)
            assert 0.0 <= s.intensity <= 1.0 and s.emotion in Emotion
            assert all(emphasis_spans(s.text, (w,)) for w in s.emphasis), (text, s)
            assert len(s.emphasis) <= MAX_EMPHASIS_WORDS
