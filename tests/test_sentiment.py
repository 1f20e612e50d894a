"""The emotion classifier (visage.core.sentiment): accuracy on a labelled set, and its rules one by one.

tests/data/emotion_labelled.tsv holds 394 sentences written for visage (about half English, half
Chinese, the seven emotions, with negation, contrast and intensity cases). Its "dev" part was used to
build the lexicons; its "held-out" part was written at the same time but not used for tuning, so its
score is the honest estimate for new text. The "hard-dev" and "hard-held-out" parts (38 sentences:
sarcasm, negated positives, mixed sentences) were added for issue 15 before the sarcasm rule; only
"hard-dev" was used to build it. Measured: overall 0.91; held-out 0.76 (English 0.80, Chinese 0.72);
hard-held-out 0.88 (0.38 before the rule). The thresholds below leave a few points of margin.
"""
import time
from collections import Counter
from pathlib import Path

import pytest

from visage.core.sentiment import classify_emotion, classify_user_mood
from visage.core.types import Emotion

DATA = Path(__file__).parent / "data" / "emotion_labelled.tsv"
OVERALL_MIN = 0.85
PER_LANGUAGE_MIN = 0.82
HELD_OUT_MIN = 0.68
HARD_HELD_OUT_MIN = 0.75


def load_labelled() -> list[tuple[str, str, Emotion, str]]:
    """(section, language, label, text) for every line of the labelled set."""
    rows, section = [], "dev"
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if line.startswith("# section:"):
            section = line.split(":", 1)[1].strip()
        elif line.strip() and not line.startswith("#"):
            label, text = line.split("\t")
            language = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"
            rows.append((section, language, Emotion(label), text))
    return rows


ROWS = load_labelled()


def accuracy(rows, classify=lambda text: classify_emotion(text)[0]) -> float:
    return sum(classify(text) == label for _, _, label, text in rows) / len(rows)


def test_the_labelled_set_is_large_balanced_and_bilingual():
    assert len(ROWS) >= 200
    languages = Counter(language for _, language, _, _ in ROWS)
    assert languages["en"] >= 100 and languages["zh"] >= 100
    for language in ("en", "zh"):
        labels = Counter(label for _, lang, label, _ in ROWS if lang == language)
        assert set(labels) == set(Emotion) and min(labels.values()) >= 20, labels
    assert sum(section == "held-out" for section, _, _, _ in ROWS) >= 100


def test_accuracy_overall_and_per_language():
    assert accuracy(ROWS) >= OVERALL_MIN
    for language in ("en", "zh"):
        assert accuracy([r for r in ROWS if r[1] == language]) >= PER_LANGUAGE_MIN, language


def test_accuracy_on_the_held_out_sentences():
    held_out = [r for r in ROWS if r[0] == "held-out"]
    assert accuracy(held_out) >= HELD_OUT_MIN
    for language in ("en", "zh"):
        assert accuracy([r for r in held_out if r[1] == language]) >= HELD_OUT_MIN - 0.05, language


def test_sarcasm_negated_positives_and_mixed_sentences():
    hard = [r for r in ROWS if r[0] == "hard-held-out"]
    assert len(hard) >= 16 and accuracy(hard) >= HARD_HELD_OUT_MIN
    assert accuracy([r for r in ROWS if r[0] == "hard-dev"]) >= 0.9


def test_the_measure_can_fail():
    """A constant answer, or a classifier that only reads punctuation, scores far below the thresholds."""
    best_constant = max(accuracy(ROWS, lambda text, e=e: e) for e in Emotion)
    assert best_constant < 0.2
    punctuation_only = accuracy(ROWS, lambda t: Emotion.SURPRISED if "?" in t or "？" in t else Emotion.NEUTRAL)
    assert punctuation_only < 0.3


@pytest.mark.parametrize("text,emotion", [
    ("I am not happy.", Emotion.SAD),  # negated happiness leans sad
    ("I'm not unhappy with it.", Emotion.HAPPY),  # two negations, un- counts as one
    ("I am not afraid.", Emotion.NEUTRAL),  # a negated fear only cancels
    ("我很不高兴。", Emotion.SAD),
    ("我没有不开心。", Emotion.HAPPY),
    ("我不难过。", Emotion.NEUTRAL),
    ("别担心。", Emotion.NEUTRAL),
    ("这部电影还不错。", Emotion.HAPPY),  # 不错 is a word, not a negation
    ("It was a bit tiring, but we had a great time.", Emotion.HAPPY),  # the clause after "but" dominates
    ("The food was great, but the waiter was incredibly rude.", Emotion.ANGRY),
    ("虽然下雨了，但是我们玩得很开心。", Emotion.HAPPY),
    ("我怕考试考不过。", Emotion.FEARFUL),  # 不过 inside a clause is not "but"
    ("Wait, you did what?!", Emotion.SURPRISED),
    ("We lost everything...", Emotion.SAD),
    ("See you tomorrow :)", Emotion.HAPPY),
    ("See you tomorrow 😢", Emotion.SAD),
    ("Ugh >:(", Emotion.ANGRY),
    ("The package arrives on Tuesday.", Emotion.NEUTRAL),
    ("Great, another delay.", Emotion.ANGRY),  # praise for a mishap is sarcasm
    ("Great, it works now!", Emotion.HAPPY),  # praise for good news is not
    ("Great, we won again!", Emotion.HAPPY),  # a mishap word ("again") with joy of its own
    ("太好了，又晚点了。", Emotion.ANGRY),
    ("太好了，终于能用了！", Emotion.HAPPY),
    ("This is not good news.", Emotion.SAD),  # one negated positive, even a weak one, is sad
    ("It is neither good nor bad.", Emotion.NEUTRAL),
    ("你想了解什么？", Emotion.NEUTRAL),  # 什么？ is surprise only at the start
])
def test_rules(text, emotion):
    assert classify_emotion(text)[0] == emotion


def test_intensity_follows_modifiers_punctuation_and_capitals():
    def strength(text):
        return classify_emotion(text)[1]

    assert strength("I am very happy.") > strength("I am happy.") > strength("I am a bit happy.")
    assert strength("I am happy!!") > strength("I am happy.")
    assert strength("I am SO HAPPY") > strength("I am so happy")
    assert strength("我非常高兴。") > strength("我高兴。") > strength("我有点高兴。")
    assert all(0.0 <= classify_emotion(t)[1] <= 1.0 for _, _, _, t in ROWS)


def test_user_mood_reads_complaints_as_frustration():
    mood = classify_user_mood("It does not work at all.")
    assert mood.complaint and mood.emotion == Emotion.ANGRY
    mood = classify_user_mood("这个软件太难用了，一直崩溃。")
    assert mood.complaint and mood.emotion in (Emotion.ANGRY, Emotion.SAD)
    mood = classify_user_mood("Thank you, that helps a lot!")
    assert not mood.complaint and mood.emotion == Emotion.HAPPY
    assert not classify_user_mood("When does the museum open?").complaint
    mood = classify_user_mood("Oh wonderful, the café is closed again.")
    assert mood.complaint and mood.emotion == Emotion.ANGRY


def test_classifier_is_fast():
    texts = [text for _, _, _, text in ROWS]
    classify_emotion(texts[0])
    began = time.perf_counter()
    for text in texts:
        classify_emotion(text)
    assert (time.perf_counter() - began) / len(texts) < 0.002  # measured ~0.05 ms a sentence
