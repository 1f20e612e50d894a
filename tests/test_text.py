from visage.core.text import (
    MAX_SENTENCE_CHARS, SentenceSplitter, clean_text, iter_sentences, sentence_type_of, split_sentences,
)
from visage.core.types import SentenceType


def test_english_sentences_respect_abbreviations_and_numbers():
    text = "Dr. Smith paid $3.14 in the U.S. today. Really?! Yes... I think so! Mr. J. R. Tolkien wrote it."
    assert split_sentences(text) == [
        "Dr. Smith paid $3.14 in the U.S. today.",
        "Really?!",
        "Yes...",
        "I think so!",
        "Mr. J. R. Tolkien wrote it.",
    ]


def test_chinese_sentences_split_on_full_width_marks():
    assert split_sentences("你好，世界。我很高兴！你呢？好的……再见") == ["你好，世界。", "我很高兴！", "你呢？", "好的……", "再见"]


def test_mixed_and_quoted():
    assert split_sentences('He said "Stop." Then he left. 我知道了。OK!') == [
        'He said "Stop."', "Then he left.", "我知道了。", "OK!",
    ]


def test_streaming_feed_matches_whole_text_split():
    text = "Hi there. How are you? I'm fine, thanks! 今天天气很好。是吗？"
    splitter = SentenceSplitter()
    streamed = []
    for ch in text:
        streamed += splitter.feed(ch)
    streamed += splitter.flush()
    assert streamed == split_sentences(text)


def test_a_sentence_is_released_only_when_it_can_no_longer_grow():
    splitter = SentenceSplitter()
    assert splitter.feed("It costs 3.") == []  # might be 3.5
    assert splitter.feed("5 dollars. Next") == ["It costs 3.5 dollars."]
    assert splitter.flush() == ["Next"]


def test_run_on_text_is_cut_to_bounded_sentences():
    text = "word " * 2000
    sentences = split_sentences(text)
    assert len(sentences) > 10
    assert max(len(s) for s in sentences) <= MAX_SENTENCE_CHARS
    assert " ".join(sentences).split() == text.split()


def test_clean_text_drops_control_characters_and_keeps_markup_as_text():
    assert clean_text("a\x00b\x07c\u200b d\r\n\te") == "abc d e"
    assert clean_text("<speak>&amp;</speak>") == "<speak>&amp;</speak>"


def test_unspeakable_text_gives_no_sentences():
    assert split_sentences("  ... !!! ") == []
    assert list(iter_sentences(["", " "])) == []


def test_sentence_types():
    assert sentence_type_of("Is it?") == SentenceType.QUESTION
    assert sentence_type_of("真的吗？") == SentenceType.QUESTION
    assert sentence_type_of('Stop!"') == SentenceType.EXCLAMATION
    assert sentence_type_of("What?!") == SentenceType.QUESTION
    assert sentence_type_of("Fine.") == SentenceType.STATEMENT
