"""Emotion and emphasis measured on the audio the embedded voice produces."""
import numpy as np
import pytest

from conftest import speak
from visage.core.audio import pitch_track
from visage.core.emotion import prosody_for
from visage.core.types import Emotion, PitchStyle, SentenceTags, SpeechRequest, clamp_intensity, parse_emotion

SENTENCES = {
    "en": "I really did not expect to see you here today, my friend.",
    "zh": "我真的没想到今天会在这里见到你，我的朋友。",
}


def measure(espeak, language, emotion, intensity=1.0, pitch=PitchStyle.NORMAL):
    x, rate, _, _ = speak(espeak, SpeechRequest(SENTENCES[language], language=language, emotion=emotion,
                                                intensity=intensity, pitch=pitch))
    f0 = pitch_track(x, rate)
    voiced = f0[f0 > 0]
    return {
        "duration": len(x) / rate,
        "f0": float(np.median(voiced)),
        "range": float(np.percentile(voiced, 90) - np.percentile(voiced, 10)),
        "rms": float(np.sqrt(np.mean(x**2))),
    }


@pytest.fixture(scope="module")
def measured(espeak):
    return {(lang, e): measure(espeak, lang, e) for lang in SENTENCES for e in Emotion}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_happy_is_higher_and_faster_than_sad(measured, lang):
    happy, sad = measured[(lang, Emotion.HAPPY)], measured[(lang, Emotion.SAD)]
    assert happy["f0"] > sad["f0"] * 1.1
    assert happy["duration"] < sad["duration"] * 0.85
    assert happy["range"] > sad["range"] * 1.5


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_each_emotion_moves_the_voice_the_right_way(measured, lang):
    neutral = measured[(lang, Emotion.NEUTRAL)]
    m = {e: measured[(lang, e)] for e in Emotion}
    assert m[Emotion.SAD]["rms"] < neutral["rms"] * 0.85, "sad is softer"
    assert m[Emotion.SAD]["duration"] > neutral["duration"] * 1.15, "sad is slower"
    assert m[Emotion.ANGRY]["rms"] > neutral["rms"] * 1.2, "angry is louder"
    assert m[Emotion.ANGRY]["rms"] > max(m[e]["rms"] for e in Emotion if e != Emotion.ANGRY), "angry is loudest"
    assert m[Emotion.SURPRISED]["f0"] > neutral["f0"] * 1.15, "surprised is higher"
    assert m[Emotion.SURPRISED]["range"] > neutral["range"] * 1.3, "surprised has a wider range"
    assert m[Emotion.FEARFUL]["duration"] < neutral["duration"], "fear is faster"
    assert m[Emotion.DISGUSTED]["duration"] > neutral["duration"], "disgust is slower"


def test_intensity_scales_the_effect(espeak):
    weak = measure(espeak, "en", Emotion.HAPPY, intensity=0.2)
    strong = measure(espeak, "en", Emotion.HAPPY, intensity=1.0)
    none = measure(espeak, "en", Emotion.HAPPY, intensity=0.0)
    neutral = measure(espeak, "en", Emotion.NEUTRAL, intensity=1.0)
    assert strong["f0"] > weak["f0"] > neutral["f0"] * 0.99
    assert abs(none["duration"] - neutral["duration"]) < 0.02


def test_pitch_style_shifts_the_register(espeak):
    low = measure(espeak, "en", Emotion.NEUTRAL, pitch=PitchStyle.LOW)
    high = measure(espeak, "en", Emotion.NEUTRAL, pitch=PitchStyle.HIGH)
    assert high["f0"] > low["f0"] * 1.15


@pytest.mark.parametrize(
    "language,sentence,target",
    [
        ("en", "I never said she stole my money.", "never"),
        ("en", "I never said she stole my money.", "money"),
        ("en", "Please bring the red box to the kitchen.", "red"),
        ("zh", "我今天真的很累。", "累"),
    ],
)
def test_emphasis_makes_the_word_louder(espeak, language, sentence, target):
    def relative_loudness(emphasis):
        x, rate, _, words = speak(espeak, SpeechRequest(sentence, language=language, emphasis=emphasis))
        word = next(w for w in words if w.text.lower() == target)
        seg = x[int(word.start * rate) : int(word.end * rate)]
        return np.sqrt(np.mean(seg**2)) / np.sqrt(np.mean(x**2)), word.emphasised

    plain, plain_flag = relative_loudness(())
    stressed, stressed_flag = relative_loudness((target,))
    assert not plain_flag and stressed_flag
    assert stressed > plain * 1.3


def test_tags_are_validated_not_trusted():
    assert parse_emotion("JOY") == Emotion.HAPPY
    assert parse_emotion("<script>") == Emotion.NEUTRAL
    assert parse_emotion(None) == Emotion.NEUTRAL
    assert clamp_intensity(7) == 1.0 and clamp_intensity(-1) == 0.0
    assert clamp_intensity("nan") == 0.5 and clamp_intensity("x") == 0.5
    assert prosody_for(SentenceTags(Emotion.HAPPY, 5.0)) == prosody_for(SentenceTags(Emotion.HAPPY, 1.0))
