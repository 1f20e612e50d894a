"""The embedded brain as a host (issue 15): intent before retrieval, memory, repair, honest fallbacks,
no knowledge-base answer on a shared word, Chinese as good as English; and the quality benchmark's
figures on tests/data/brain_turns.yaml.
"""
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from visage.backends.llm.base import ChatTurn, Conversation
from visage.backends.llm.embedded import EmbeddedBrain
from visage.backends.llm.jokes import JOKES
from visage.backends.llm.relevance import relevance
from visage.backends.llm.sessions import RECENT_TURNS, SessionStore
from visage.core.types import Emotion, SentenceType

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import bench_brain_quality  # noqa: E402

NOW = datetime(2026, 12, 1, 14, 5, tzinfo=timezone.utc)  # a Tuesday


@pytest.fixture(scope="module")
def brain():
    b = EmbeddedBrain(clock=lambda: NOW)
    b.load()
    return b


def talk(brain, *messages, conversation=None):
    """The replies to `messages`, each appended to the conversation as a caller would."""
    conversation = conversation or Conversation("host")
    replies = []
    for message in messages:
        reply = list(brain.reply(conversation, message))
        conversation.history += [ChatTurn("user", message), ChatTurn("assistant", " ".join(s.text for s in reply))]
        replies.append(reply)
    return replies


def text(reply) -> str:
    return " ".join(s.text for s in reply)


def kb_sentences(brain, reply) -> list[str]:
    return [s.text for s in reply if s.text in brain._owner]


# -- the examples of the issue ------------------------------------------------------------------------------

@pytest.mark.parametrize("message,sorry,not_said", [
    ("我心情不好", ("难过", "陪"), ("电梯", "轮椅", "导盲犬")),
    ("I'm feeling really sad today.", ("sorry",), ("seven emotions", "neutral, happy")),
])
def test_a_feeling_gets_warmth_not_a_knowledge_base_entry(brain, message, sorry, not_said):
    (reply,) = talk(brain, message)
    said = text(reply)
    assert any(word in said for word in sorry) and not any(word in said for word in not_said), said
    assert reply[0].emotion == Emotion.SAD and not kb_sentences(brain, reply)


def test_shared_word_is_not_a_subject_match(brain):
    """不好 is in the accessibility entry (视力不好), but that entry is not about the user's mood."""
    kb = brain._kb
    hits = kb.search("我心情不好", "zh", k=3, min_confidence=0.0)
    assert hits and not any(relevance(kb, hit, "我心情不好").answers for hit in hits)
    hit = kb.best("有电梯吗", "zh", min_confidence=0.0)
    assert hit.entry.question == "无障碍设施" and relevance(kb, hit, "有电梯吗").answers


@pytest.mark.parametrize("message,cannot", [
    ("Can you help me book a table for two tonight?", "can't book"),
    ("帮我订一张去北京的火车票", "没办法帮你预订"),
    ("remind me to take my pills at 8", "can't set reminders"),
    ("明天早上七点提醒我开会", "没办法设提醒"),
    ("call a taxi for me please", "can't make phone calls"),
    ("帮我打个电话给我妈妈", "没办法打电话"),
])
def test_a_request_it_cannot_do_is_declined_with_what_it_can_do(brain, message, cannot):
    (reply,) = talk(brain, message)
    assert cannot in reply[0].text and reply[0].emotion == Emotion.SAD and reply[0].intensity <= 0.3
    assert "“" not in text(reply) and not kb_sentences(brain, reply)  # no "Do you mean ...?", no FAQ answer
    assert any(word in reply[-1].text for word in ("knowledge base", "知识库"))  # what it can do here


@pytest.mark.parametrize("message,expect", [
    ("could you reserve a private tour for my class next friday?", "front desk"),
    ("能帮我预约下周的讲解吗", "前台"),
])
def test_a_request_it_cannot_do_still_gets_what_it_knows(brain, message, expect):
    (reply,) = talk(brain, message)
    assert reply[0].emotion == Emotion.SAD and expect in text(reply)


@pytest.mark.parametrize("message,expect", [
    ("Where is the toilet?", "don't know"), ("厕所在哪里", "不知道"),
    ("can I leave my bag somewhere?", "don't know"), ("有寄存包的地方吗", "不知道"),
])
def test_a_question_it_has_no_entry_for_is_not_answered_beside_the_point(brain, message, expect):
    (reply,) = talk(brain, message)
    said = text(reply)
    assert expect in said and "“" not in said and not kb_sentences(brain, reply), said
    assert any(word in said for word in ("staff", "工作人员"))  # where to ask instead


@pytest.mark.parametrize("message,expect", [
    ("What time is it?", "14:05"), ("现在几点了", "下午2点05分"), ("what day is it today?", "Tuesday, 1 December 2026"),
    ("今天星期几", "2026年12月1日，星期二"), ("what year is it", "2026"), ("今年是哪一年", "2026年"),
])
def test_the_present_from_the_clock(brain, message, expect):
    (reply,) = talk(brain, message)
    assert expect in text(reply) and not kb_sentences(brain, reply)
    assert reply[0].emotion == Emotion.NEUTRAL


@pytest.mark.parametrize("message,cannot", [("what's the weather like today?", "can't tell you the weather"),
                                            ("明天会下雨吗", "没办法告诉你天气"), ("any news today?", "can't tell you the news")])
def test_the_weather_and_the_news_are_honestly_out_of_reach(brain, message, cannot):
    (reply,) = talk(brain, message)
    assert cannot in reply[0].text and any(w in text(reply) for w in ("time and the date", "时间和日期"))


@pytest.mark.parametrize("language,first,second", [("en", "Tell me a joke.", "another one"),
                                                   ("zh", "给我讲个笑话", "再来一个")])
def test_jokes_from_the_curated_set_without_repeating(brain, language, first, second):
    joke, another = talk(brain, first, second)
    setups = [setup for setup, _ in JOKES[language]]
    assert joke[0].text in setups and another[0].text in setups and joke[0].text != another[0].text
    assert joke[1].emotion == Emotion.HAPPY and joke[0].sentence_type == SentenceType.QUESTION
    told = talk(brain, *[first] * (len(setups) + 1))
    assert len({r[0].text for r in told[:-1]}) == len(setups)  # every joke once, then it says so
    assert told[-1][0].text not in setups


@pytest.mark.parametrize("message", ["Great, another delay.", "太好了，又晚点了。"])
def test_sarcasm_is_answered_as_a_complaint(brain, message):
    (reply,) = talk(brain, message)
    assert reply[0].emotion == Emotion.SAD and ("sorry" in reply[0].text.lower() or "抱歉" in reply[0].text)
    assert not any(s.emotion == Emotion.HAPPY for s in reply)


# -- memory -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tell,ask,expect", [
    ("My name is Anna.", "What is my name?", "Anna"), ("我叫小明", "我叫什么名字？", "小明"),
    ("I live in Berlin", "where do I live?", "Berlin"), ("我住在上海", "我住在哪里", "上海"),
    ("I love dinosaurs", "do you remember what I love?", "dinosaurs"), ("我喜欢恐龙", "你记得我喜欢什么吗", "恐龙"),
])
def test_personal_facts_are_remembered_and_used(brain, tell, ask, expect):
    told, between, recalled = talk(brain, tell, "How much is a ticket?", ask)
    assert expect in text(told) and expect in text(recalled) and not kb_sentences(brain, recalled)


def test_the_latest_name_wins_and_is_used_in_goodbyes(brain):
    *_, recalled, bye = talk(brain, "my name is Anna", "actually, my name is Hannah", "what's my name?", "bye!")
    assert "Hannah" in text(recalled) and "Anna" not in text(recalled).replace("Hannah", "")
    assert "Hannah" in text(bye)


@pytest.mark.parametrize("ask,expect", [("what's my name?", "haven't told me"), ("你知道我叫什么吗", "还没告诉我")])
def test_an_unknown_fact_is_not_guessed(brain, ask, expect):
    (reply,) = talk(brain, ask)
    assert expect in text(reply) and "visage" not in text(reply)


@pytest.mark.parametrize("message,name", [("call me Sam", "Sam"), ("call me tomorrow", None)])
def test_call_me_is_a_name_not_a_phone_call(brain, message, name):
    (reply,) = talk(brain, message)
    assert (name in text(reply) and "phone" not in text(reply)) if name else "phone calls" in text(reply)


def test_a_name_not_a_feeling(brain):
    (tired,) = talk(brain, "I'm tired")
    assert "Nice to meet you" not in text(tired) and "break" in text(tired)


def test_memory_survives_a_saved_session_past_its_recent_window(brain, tmp_path):
    """The name was said long ago: the session reloads with it only in the summary, and it is remembered."""
    store = SessionStore(tmp_path / "sessions.sqlite")
    conversation = store.create(session_id="s")
    messages = ["Hi, I'm Tom.", *["How much is a ticket?", "Thanks!"] * RECENT_TURNS]
    for message in messages:
        reply = text(brain.reply(store.load("s"), message))
        store.append("s", ChatTurn("user", message))
        store.append("s", ChatTurn("assistant", reply))
    conversation = store.load("s")
    assert not any("Tom" in t.text for t in conversation.history if t.role == "user")
    assert conversation.summary.startswith("User: Hi, I'm Tom. … ")  # pinned, however long the summary
    assert "Tom" in text(brain.reply(conversation, "do you remember my name?"))
    store.close()


# -- repair -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("question,again", [("When does the museum open?", "what?"),
                                            ("How much is a ticket?", "sorry, can you say that again?"),
                                            ("博物馆几点开门", "什么？"), ("门票多少钱", "再说一遍")])
def test_repair_repeats_the_last_reply(brain, question, again):
    first, repeated = talk(brain, question, again)
    answer = [s.text for s in first]
    assert [s.text for s in repeated][1:] == answer  # after a short "Of course, I said:"
    assert [s.emotion for s in repeated][1:] == [s.emotion for s in first]


@pytest.mark.parametrize("question,slower", [("Where is the museum?", "slower please"), ("博物馆在哪", "说慢一点")])
def test_slower_repeats_in_short_calm_phrases(brain, question, slower):
    first, slow = talk(brain, question, slower)
    pieces = slow[1:]
    assert "".join(s.text for s in pieces).replace(" ", "") == "".join(s.text for s in first).replace(" ", "")
    assert len(pieces) > len(first) and all(s.intensity <= 0.3 for s in pieces)


def test_repair_with_nothing_said_yet_asks(brain):
    (reply,) = talk(brain, "pardon?")
    assert "repeat" in reply[0].text and reply[-1].sentence_type == SentenceType.QUESTION


def test_repeating_twice_does_not_stack_the_preface(brain):
    first, once, twice, slower = talk(brain, "Are there guided tours?", "what?", "what?", "slower please")
    assert [s.text for s in twice][1:] == [s.text for s in once][1:] == [s.text for s in first]
    assert not any("said" in s.text for s in slower[1:])


def test_a_repeated_joke_is_still_funny(brain):
    joke, again = talk(brain, "tell me a joke", "say that again")
    assert [(s.text, s.emotion) for s in again][1:] == [(s.text, s.emotion) for s in joke]


# -- honest, varied fallbacks -----------------------------------------------------------------------------

@pytest.mark.parametrize("questions", [
    ("What is the capital of France?", "who painted the mona lisa?", "how tall is Mount Everest?"),
    ("法国的首都是哪里", "蒙娜丽莎是谁画的", "珠穆朗玛峰有多高？"),
])
def test_fallbacks_do_not_repeat_in_a_row(brain, questions):
    replies = talk(brain, *questions)
    for before, after in zip(replies, replies[1:]):
        assert before[0].text != after[0].text and text(before) != text(after)
    assert all(r[0].emotion == Emotion.SAD and r[0].intensity <= 0.3 for r in replies)  # an honest "I don't know"
    assert all(not kb_sentences(brain, r) for r in replies)


def test_fallback_emotion_fits(brain):
    (complaint,) = talk(brain, "this app is useless, it never understands me")
    assert complaint[0].emotion == Emotion.SAD and not any(s.emotion == Emotion.HAPPY for s in complaint)
    (glad,) = talk(brain, "i'm so happy today!")
    assert all(s.emotion == Emotion.HAPPY for s in glad)
    (fact,) = talk(brain, "What time is it?")
    assert fact[0].emotion == Emotion.NEUTRAL


@pytest.mark.parametrize("message,expect", [("how old are you?", "age"), ("你几岁了", "年龄"),
                                            ("do you have feelings?", "emotions"), ("你有感情吗", "情绪"),
                                            ("thanks a lot", "welcome"), ("太感谢了", "不客气"),
                                            ("好的谢谢，我先走了", "再见"), ("good morning!", "Good morning")])
def test_small_talk(brain, message, expect):
    (reply,) = talk(brain, message)
    assert expect in text(reply) and not kb_sentences(brain, reply)


@pytest.mark.parametrize("message,sorry,limits", [
    ("你怎么什么都不知道", "抱歉", "知识库"), ("you don't know anything", "sorry", "knowledge base"),
    ("你好笨啊", "抱歉", "知识库"), ("you are useless", "Sorry", "knowledge"),
    ("that's not what I asked", "sorry", "other words"), ("你根本听不懂我说的话", "对不起", "换个说法")])
def test_criticism_of_the_host_gets_an_apology_and_its_limits(brain, message, sorry, limits):
    """A complaint about the host itself is read on the whole message (你好笨 is no greeting) before any
    search: an apology said with concern, what it can and cannot do, never an entry sharing 知道."""
    (reply,) = talk(brain, message)
    assert sorry.lower() in text(reply).lower() and limits in text(reply)
    assert reply[0].emotion == Emotion.SAD and not kb_sentences(brain, reply)
    assert "你好！" not in text(reply)


@pytest.mark.parametrize("message,expect", [("我的手机没电了", "前台"), ("my phone is dead", "front desk"),
                                            ("我的自行车坏了怎么修", "帮不了")])
def test_a_problem_with_the_users_things_goes_to_the_staff(brain, message, expect):
    (reply,) = talk(brain, message)
    assert expect in text(reply) and reply[0].emotion == Emotion.SAD and not kb_sentences(brain, reply)


def test_a_question_is_answered_before_sympathy(brain):
    """'My eyes are bad, what can I do?' asks something: no "I'm sorry to hear that" before the answer
    or the honest "I don't know" (sympathy alone answers a statement of feeling)."""
    (eyes,) = talk(brain, "我的眼睛不好，怎么办")
    assert "难过" not in text(eyes) and "抱歉" in text(eyes)
    (mood,) = talk(brain, "我心情不好")
    assert "难过" in text(mood)


@pytest.mark.parametrize("message,expect", [("我最近压力很大", "辛苦"), ("I'm so stressed", "breath"),
                                            ("do you ever sleep?", "sleep"), ("你吃饭了吗", "不用吃饭")])
def test_stress_and_body_needs(brain, message, expect):
    (reply,) = talk(brain, message)
    assert expect in text(reply) and not kb_sentences(brain, reply)


# -- the benchmark ----------------------------------------------------------------------------------------

def test_quality_benchmark_figures():
    """bench/bench_brain_quality.py on 203 turns: measured 100 % (dev) and 94.9 % (held-out) appropriate,
    none confidently beside the point."""
    cases = bench_brain_quality.load_cases()
    assert sum(len(c["turns"]) for c in cases) >= 150
    summary = bench_brain_quality.summarise(bench_brain_quality.run(EmbeddedBrain(clock=lambda: NOW), cases))
    assert summary["dev"]["appropriate"] >= 0.97 and summary["held-out"]["appropriate"] >= 0.9
    assert summary["all"]["beside_the_point"] == 0
    for language in ("en", "zh"):
        assert summary["language"][language]["appropriate"] >= 0.9


def test_second_held_out_set():
    """tests/data/brain_turns_heldout2.yaml (57 turns, written after the tuning on the first set): measured
    96.5 % appropriate, none beside the point."""
    cases = bench_brain_quality.load_cases(bench_brain_quality.HELD_OUT_2)
    assert sum(len(c["turns"]) for c in cases) >= 40 and {c["split"] for c in cases} == {"held-out"}
    summary = bench_brain_quality.summarise(bench_brain_quality.run(EmbeddedBrain(clock=lambda: NOW), cases))
    assert summary["all"]["appropriate"] >= 0.9 and summary["all"]["beside_the_point"] == 0
    assert {"memory", "repair", "knowledge", "feelings", "complaints"} <= summary["category"].keys()
