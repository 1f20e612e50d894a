"""The speaking pace and loudness the user asks for ("slower please", "说快一点", "louder"): set by the
brain for the rest of the session, carried in every reply sentence's tags, and honoured by the voices,
measured on the audio they produce (espeak in English and Mandarin, Piper through a stand-in model whose
output length is exactly its length_scale)."""
import numpy as np
import pytest

from conftest import speak
from test_voice_piper import HOP, write_voice
from visage.backends.llm.base import ChatTurn, Conversation
from visage.backends.llm.delivery import FASTEST, SLOWEST, STEP, session_delivery
from visage.backends.llm.embedded import EmbeddedBrain
from visage.backends.llm.intents import Intent, read_message
from visage.backends.tts import create_tts
from visage.core.types import SentenceTags, SpeechRequest


def talk(brain, conversation, text):
    """One turn, recorded as the Chat facade records it; the reply's sentences."""
    reply = list(brain.reply(conversation, text))
    conversation.history += [ChatTurn("user", text), ChatTurn("assistant", " ".join(s.text for s in reply))]
    return reply


@pytest.fixture(scope="module")
def brain():
    b = EmbeddedBrain()
    b.load()
    return b


@pytest.mark.parametrize("text,lang,intent", [
    ("slower please", "en", Intent.SLOWER), ("could you speak a bit slower?", "en", Intent.SLOWER),
    ("you're talking too fast", "en", Intent.SLOWER), ("说慢一点", "zh", Intent.SLOWER), ("慢点", "zh", Intent.SLOWER),
    ("speak faster", "en", Intent.FASTER), ("you are speaking too slowly", "en", Intent.FASTER),
    ("说快一点", "zh", Intent.FASTER), ("louder", "en", Intent.LOUDER), ("I can't hear you", "en", Intent.LOUDER),
    ("大声一点", "zh", Intent.LOUDER), ("not so loud please", "en", Intent.QUIETER), ("小声点", "zh", Intent.QUIETER),
])
def test_pace_and_loudness_requests_are_read(text, lang, intent):
    assert read_message(text, lang).intent == intent


@pytest.mark.parametrize("text,lang", [("is visage slow on a laptop?", "en"), ("how fast is it?", "en"),
                                       ("电脑慢一点没关系吗", "zh"), ("the voice is loud and clear", "en")])
def test_questions_about_speed_are_not_pace_requests(text, lang):
    assert read_message(text, lang).intent not in (Intent.SLOWER, Intent.FASTER, Intent.LOUDER, Intent.QUIETER)


def test_each_request_moves_one_step_and_stays_in_bounds():
    conversation = Conversation("s")
    assert session_delivery(conversation, "slower please").speech_rate == pytest.approx(1 / STEP, abs=1e-3)
    for _ in range(5):
        conversation.history += [ChatTurn("user", "slower please"), ChatTurn("assistant", "Of course.")]
    assert session_delivery(conversation).speech_rate == SLOWEST
    conversation.history += [ChatTurn("user", "说快一点")] * 10
    assert session_delivery(conversation).speech_rate == FASTEST
    assert session_delivery(conversation).loudness == 1.0
    assert session_delivery(conversation, "louder").loudness == pytest.approx(STEP, abs=1e-3)


def test_the_brain_remembers_the_pace_for_the_session(brain):
    conversation = Conversation("pace")
    first = talk(brain, conversation, "when do you open?")
    assert {s.tags.speech_rate for s in first} == {1.0}
    slower = talk(brain, conversation, "slower please")
    assert "Tuesday to Sunday" in " ".join(s.text for s in slower)  # the answer again, slower
    assert all(s.tags.speech_rate == pytest.approx(1 / STEP, abs=1e-3) for s in slower)
    later = talk(brain, conversation, "how much is a ticket?")
    assert "twelve euros" in " ".join(s.text for s in later)
    assert all(s.tags.speech_rate == pytest.approx(1 / STEP, abs=1e-3) for s in later)  # still slower
    faster = talk(brain, conversation, "speak faster")
    assert "faster" in " ".join(s.text for s in faster) and {s.tags.speech_rate for s in faster} == {1.0}
    louder = talk(brain, conversation, "大声一点")
    assert "大声" in louder[0].text and all(s.tags.loudness == pytest.approx(STEP, abs=1e-3) for s in louder)


def test_pace_tags_are_validated():
    assert SentenceTags(speech_rate="fast").speech_rate == 1.0
    assert SentenceTags(speech_rate=float("nan")).speech_rate == 1.0
    assert SentenceTags(speech_rate=9).speech_rate == 2.0 and SentenceTags(loudness=0.1).loudness == 0.5


def _spoken(tts, brain, language, asks, question=""):
    """The duration and loudness of the same answer spoken with the tags the brain gives it before and
    after each request in `asks`."""
    question = question or ("门票多少钱" if language == "zh" else "how much is a ticket?")
    conversation = Conversation("audio", language=language)
    measures = []
    for ask in ("",) + asks:
        if ask:
            talk(brain, conversation, ask)
        sentence = talk(brain, conversation, question)[0]
        x, rate, _, _ = speak(tts, SpeechRequest(sentence.text, tags=sentence.tags))
        measures.append((len(x) / rate, float(np.sqrt(np.mean(x ** 2)))))
    return measures


@pytest.mark.parametrize("language", ["en", "zh"])
def test_espeak_speaks_slower_and_faster_when_asked(espeak, brain, language):
    slower, faster = ("说慢一点", "说快一点") if language == "zh" else ("slower please", "speak faster")
    (normal, _), (slow, _), (back, _), (fast, _) = _spoken(espeak, brain, language, (slower, faster, faster))
    # a quarter slower in words per minute (measured 1.25 / 1.30; pauses do not stretch as much)
    assert slow / normal > 1.18
    assert back == pytest.approx(normal, rel=0.03)
    assert fast / normal < 0.85  # measured 0.79 / 0.76


def test_espeak_speaks_louder_when_asked(espeak, brain):
    # a calm answer (an excited one is near espeak's ceiling already, where louder can only clip); its
    # emphasised key term is loud already too: measured 1.14 for the 1.25 step
    (_, normal), (_, loud), (_, soft) = _spoken(espeak, brain, "en", ("louder please", "not so loud please"),
                                                "where is the museum?")
    assert loud / normal > 1.1
    assert soft == pytest.approx(normal, rel=0.03)


def test_piper_length_scale_follows_the_pace(tmp_path, brain):
    piper = create_tts("piper", model_path=write_voice(tmp_path))
    (normal, _), (slow, _) = _spoken(piper, brain, "en", ("slower please",))
    # the stand-in model's output is floor(ids * length_scale * HOP) samples after the ids
    assert slow / normal == pytest.approx(STEP, rel=0.05)
    assert HOP > 0
