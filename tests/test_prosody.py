"""Emotion and emphasis measured on the audio the voices produce: espeak (English and Mandarin) and
the neural voice (English), through the same checks."""
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


# (voice fixture, language): every voice with emotion, in every language it speaks
VOICE_LANGUAGES = [("espeak", "en"), ("espeak", "zh"), ("neural", "en")]
_IDS = [f"{v}-{lang}" for v, lang in VOICE_LANGUAGES]


def measure(espeak, language, emotion, intensity=1.0, pitch=PitchStyle.NORMAL):
    x, rate, _, _ = speak(espeak, SpeechRequest(SENTENCES[language], language=language, emotion=emotion,
                                                intensity=intensity, pitch=pitch))
    # up to 800 Hz: a woman's surprise goes above 500; threshold 0.3: the neural voice is less strictly
    # periodic than espeak, and at YIN's usual 0.15 only a third of its voiced frames would count
    f0 = pitch_track(x, rate, fmax=800.0, threshold=0.3)
    voiced = f0[f0 > 0]
    return {
        "duration": len(x) / rate,
        "f0": float(np.median(voiced)),
        "range": float(np.percentile(voiced, 90) - np.percentile(voiced, 10)),
        "rms": float(np.sqrt(np.mean(x**2))),
    }


@pytest.fixture(scope="module")
def measured(request):
    """(voice, language, emotion) -> measures, each sentence spoken once per module."""
    cache = {}

    def get(voice, lang, emotion):
        if (voice, lang, emotion) not in cache:
            cache[(voice, lang, emotion)] = measure(request.getfixturevalue(voice), lang, emotion)
        return cache[(voice, lang, emotion)]

    return get


@pytest.mark.parametrize("voice,lang", VOICE_LANGUAGES, ids=_IDS)
def test_happy_is_higher_and_faster_than_sad(measured, voice, lang):
    happy, sad = measured(voice, lang, Emotion.HAPPY), measured(voice, lang, Emotion.SAD)
    assert happy["f0"] >= sad["f0"] * 1.15
    assert happy["duration"] * 1.15 <= sad["duration"]
    assert happy["range"] > sad["range"] * 1.5


@pytest.mark.parametrize("voice,lang", VOICE_LANGUAGES, ids=_IDS)
def test_each_emotion_moves_the_voice_the_right_way(measured, voice, lang):
    m = {e: measured(voice, lang, e) for e in Emotion}
    neutral = m[Emotion.NEUTRAL]
    assert m[Emotion.SAD]["rms"] < neutral["rms"] * 0.85, "sad is softer"
    assert m[Emotion.SAD]["duration"] > neutral["duration"] * 1.15, "sad is slower"
    assert m[Emotion.ANGRY]["rms"] > neutral["rms"] * 1.2, "angry is louder"
    assert m[Emotion.ANGRY]["rms"] > max(m[e]["rms"] for e in Emotion if e != Emotion.ANGRY), "angry is loudest"
    assert m[Emotion.SURPRISED]["f0"] > neutral["f0"] * 1.15, "surprised is higher"
    assert m[Emotion.SURPRISED]["range"] > neutral["range"] * 1.3, "surprised has a wider range"
    assert m[Emotion.FEARFUL]["duration"] < neutral["duration"], "fear is faster"
    assert m[Emotion.DISGUSTED]["duration"] > neutral["duration"], "disgust is slower"


@pytest.mark.parametrize("voice", ["espeak", "neural"])
def test_intensity_scales_the_effect(request, voice):
    tts = request.getfixturevalue(voice)
    # 0.4, not lower: the neural model's own F0 moves by a few per cent with its speaking rate, so a
    # weaker setting's +5 % would drown in it
    weak = measure(tts, "en", Emotion.HAPPY, intensity=0.4)
    strong = measure(tts, "en", Emotion.HAPPY, intensity=1.0)
    none = measure(tts, "en", Emotion.HAPPY, intensity=0.0)
    neutral = measure(tts, "en", Emotion.NEUTRAL, intensity=1.0)
    assert strong["f0"] > weak["f0"] > neutral["f0"] * 0.99
    assert abs(none["duration"] - neutral["duration"]) < 0.02


@pytest.mark.parametrize("voice", ["espeak", "neural"])
def test_pitch_style_shifts_the_register(request, voice):
    tts = request.getfixturevalue(voice)
    low = measure(tts, "en", Emotion.NEUTRAL, pitch=PitchStyle.LOW)
    high = measure(tts, "en", Emotion.NEUTRAL, pitch=PitchStyle.HIGH)
    assert high["f0"] > low["f0"] * 1.15


@pytest.mark.parametrize(
    "voice,language,sentence,target",
    [
        (voice, "en", "I never said she stole my money.", "never") for voice in ("espeak", "neural")
    ] + [
        (voice, "en", "I never said she stole my money.", "money") for voice in ("espeak", "neural")
    ] + [
        (voice, "en", "Please bring the red box to the kitchen.", "red") for voice in ("espeak", "neural")
    ] + [("espeak", "zh", "我今天真的很累。", "累")],
)
def test_emphasis_makes_the_word_louder(request, voice, language, sentence, target):
    tts = request.getfixturevalue(voice)

    def relative_loudness(emphasis):
        x, rate, _, words = speak(tts, SpeechRequest(sentence, language=language, emphasis=emphasis))
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
