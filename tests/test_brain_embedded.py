"""The embedded brain: intents, answers from the knowledge base, follow-ups, honesty, tags, speed.

Conversations are scripts: each user message and the reply's text are appended to the history as a
caller would, and the tags of the sentences that come out are checked.
"""
import statistics
import threading
import time

import pytest

from visage.backends.llm import create_brain
from visage.backends.llm.base import ChatTurn, Conversation
from visage.backends.llm.embedded import EmbeddedBrain
from visage.backends.llm.phrases import PHRASES
from visage.backends.llm.knowledge import MIN_CONFIDENCE, language_of, load_knowledge
from visage.core.sentiment import classify_emotion
from visage.core.types import Emotion, SentenceType
from visage.errors import InputError


@pytest.fixture(scope="module")
def brain():
    b = create_brain("embedded")
    b.load()
    return b


def ask(brain, message, conversation=None, emotion=None):
    conversation = conversation or Conversation("test")
    reply = list(brain.reply(conversation, message, user_emotion=emotion))
    conversation.history += [ChatTurn("user", message), ChatTurn("assistant", " ".join(s.text for s in reply))]
    return reply


def script(brain, *messages, language="en"):
    conversation = Conversation("test", language=language)
    return [ask(brain, m, conversation) for m in messages]


def test_registered_as_the_default_brain():
    assert isinstance(create_brain(), EmbeddedBrain)
    assert isinstance(create_brain("embedded", persona_name="Ada"), EmbeddedBrain)


@pytest.mark.parametrize("message,language,word", [("Hello!", "en", "Hello"), ("你好", "zh", "你好")])
def test_greeting_is_happy_and_asks_back(brain, message, language, word):
    reply = ask(brain, message)
    assert word in reply[0].text and reply[0].emotion == Emotion.HAPPY and reply[0].intensity == 0.6
    assert all(s.language == language for s in reply)
    assert reply[-1].sentence_type == SentenceType.QUESTION
    assert any("visage" in s.emphasis for s in reply)  # the persona's name


@pytest.mark.parametrize("message,word", [("Thank you so much!", "welcome"), ("谢谢！", "不客气")])
def test_thanks(brain, message, word):
    reply = ask(brain, message)
    assert word in reply[0].text and reply[0].emotion == Emotion.HAPPY


@pytest.mark.parametrize("message,expect", [
    ("Goodbye!", "Goodbye"), ("再见", "再见"), ("How are you?", "doing well"), ("你好吗？", "我很好"),
    ("Who are you?", "I'm visage"), ("你是谁？", "我是visage"), ("What can you do?", "I can tell you about"),
    ("你能做什么？", "我可以给你介绍"),
])
def test_small_talk(brain, message, expect):
    assert expect in " ".join(s.text for s in ask(brain, message))


def test_persona_name():
    reply = ask(EmbeddedBrain(persona_name="Ada"), "Who are you?")
    assert reply[0].text.startswith("I'm Ada") and reply[0].emphasis == ("Ada",)


@pytest.mark.parametrize("message", ["This stupid thing doesn't work, I'm so annoyed!", "这个软件太难用了，气死我了！"])
def test_complaint_gets_empathy_apology_and_an_offer(brain, message):
    reply = ask(brain, message)
    assert reply[0].emotion == Emotion.SAD and reply[0].intensity == 0.5  # the apology
    assert "sorry" in reply[0].text.lower() or "抱歉" in reply[0].text
    assert not any(s.emotion == Emotion.HAPPY for s in reply)
    assert any(s.sentence_type == SentenceType.QUESTION for s in reply)  # the offer


def test_an_angry_user_gets_a_calm_answer(brain):
    calm = ask(brain, "What is the most famous exhibit?", emotion=Emotion.ANGRY)
    assert calm[0].emotion == Emotion.SAD  # empathy first
    assert "bronze mask" in " ".join(s.text for s in calm)
    assert all(s.emotion != Emotion.HAPPY and s.intensity <= 0.5 for s in calm)
    glad = ask(brain, "What is the most famous exhibit?")
    assert glad[0].emotion == Emotion.HAPPY  # the exciting fact, to a calm user


@pytest.mark.parametrize("question,expect,term", [
    ("How do I install visage?", "make demo", "install"),
    ("When does the museum open?", "Tuesday to Sunday", "open"),
    ("怎么安装visage？", "make demo", None),
    ("博物馆几点开门？", "早上九点", None),
])
def test_answers_from_the_knowledge_base(brain, question, expect, term):
    reply = ask(brain, question)
    text = " ".join(s.text for s in reply)
    assert expect in text and 1 <= len(reply) <= 3
    assert all(s.language == language_of(question) for s in reply)
    if term:
        assert any(term in " ".join(s.emphasis).lower() for s in reply)


def test_exciting_facts_are_happy_and_plain_facts_neutral(brain):
    reply = ask(brain, "How much is a ticket?")
    assert reply[0].emotion == Emotion.NEUTRAL  # "An adult ticket costs twelve euros."
    assert reply[-1].text.endswith("!") and reply[-1].emotion == Emotion.HAPPY  # free entry on Sundays!


@pytest.mark.parametrize("question,language", [("What is the capital of France?", "en"), ("法国的首都是哪里？", "zh")])
def test_unknown_is_said_honestly(brain, question, language):
    reply = ask(brain, question)
    assert reply[0].emotion in (Emotion.SAD, Emotion.NEUTRAL) and reply[0].intensity <= 0.3
    assert "don't know" in reply[0].text or "不知道" in reply[0].text
    assert reply[-1].sentence_type == SentenceType.QUESTION and reply[0].language == language


def test_a_vague_question_gets_a_question_back_and_yes_answers_it(brain):
    vague, yes = script(brain, "is there parking for my camper van?", "yes")
    assert vague[-1].sentence_type == SentenceType.QUESTION and "“" in vague[-1].text
    assert "River Street" in yes[0].text


def test_tell_me_more_continues_the_topic(brain):
    first, more, done = script(brain, "What is visage?", "tell me more", "tell me more")
    said = " ".join(s.text for s in first)
    assert "talking avatar" in said and more and all(s.text not in said for s in more)
    assert "language model" in more[0].text
    assert "That's all I know" in done[0].text and done[-1].sentence_type == SentenceType.QUESTION


def test_chinese_follow_ups(brain):
    first, more, about = script(brain, "visage是什么？", "还有呢", "那讲解呢？", language="zh")
    assert "数字人" in first[0].text and "大语言模型" in more[0].text
    assert "讲解" in about[0].text and about[0].language == "zh"


def test_what_about_uses_the_previous_topic(brain):
    _, about = script(brain, "When is the museum open?", "and what about Thursday?")
    assert "Thursdays" in " ".join(s.text for s in about)
    _, price = script(brain, "How do I get to the museum?", "what about the price?")
    assert "twelve euros" in price[0].text


def test_follow_up_without_a_topic_asks(brain):
    reply = ask(brain, "why?")
    assert reply[0].sentence_type == SentenceType.QUESTION


def test_reply_language_follows_the_message(brain):
    assert ask(brain, "你们几点关门？", Conversation("t", language="en"))[0].language == "zh"
    assert ask(brain, "When do you close?", Conversation("t", language="zh"))[0].language == "en"
    assert ask(brain, "???", Conversation("t", language="zh"))[0].language == "zh"


def test_stock_phrases_are_tagged_as_their_words_read():
    for key, (emotion, intensity, variants) in PHRASES.items():
        for text in (v for options in variants.values() for v in options):
            fields = dict(name="visage", topic="x", topics="x", user="Anna", place="Berlin", verb="like",
                          thing="tea", likes="like tea", time="14:05", date="Tuesday", year="2026")
            read = classify_emotion(text.format(**fields))[0]
            assert read in (emotion, Emotion.NEUTRAL), (key, text, read)


def test_tags_are_consistent_over_a_conversation(brain):
    replies = script(brain, "Hi!", "What can visage do?", "Why?", "Can I use my own photo?", "Thanks!", "Bye!")
    for sentence in (s for reply in replies for s in reply):
        ends_with_question = sentence.text.rstrip("”").endswith(("?", "？"))
        assert (sentence.sentence_type == SentenceType.QUESTION) == ends_with_question
        read = classify_emotion(sentence.text)[0]
        assert read in (sentence.emotion, Emotion.NEUTRAL) or sentence.emotion == Emotion.NEUTRAL, sentence
        assert 0.0 <= sentence.intensity <= 1.0


def test_reply_does_not_change_the_conversation(brain):
    conversation = Conversation("t")
    list(brain.reply(conversation, "Hello"))
    assert conversation.history == []


def test_cancel_is_honoured_between_sentences(brain):
    cancel = threading.Event()
    got = []
    for sentence in brain.reply(Conversation("t"), "What is visage?", cancel=cancel):
        got.append(sentence)
        cancel.set()
    assert len(got) == 1
    assert list(brain.reply(Conversation("t"), "Hello", cancel=cancel)) == []


def test_empty_message_asks_to_repeat(brain):
    assert ask(brain, "   ")[-1].sentence_type == SentenceType.QUESTION


# -- retrieval --------------------------------------------------------------------------------------------

PARAPHRASES = [  # (question, expected heading): none is in the knowledge base word for word
    ("what exactly is this visage thing?", "What visage is"), ("how can I install it on my computer?",
     "Installing visage"), ("do I need a graphics card to run it?", "System requirements"),
    ("what features does it offer?", "What visage can do"),
    ("can I use it without an internet connection?", "Privacy and working offline"),
    ("is my personal information kept private?", "Privacy and working offline"),
    ("can you speak Mandarin?", "Languages"), ("what feelings can the face express?", "Emotions"),
    ("how can I turn a picture of me into an avatar?", "Using your own photo"),
    ("can I hook it up to a local model like llama?", "Connecting a language model"),
    ("what licence is the code released under?", "Licence"), ("can I change to a different voice?", "Voices"),
    ("how quickly does it respond?", "Speed"), ("can I cut in while you're talking?", "Interrupting the avatar"),
    ("how do I give you my own FAQ?", "Your own knowledge base"), ("who developed this software?", "Who made visage"),
    ("what time does the museum open on Saturday?", "Opening hours"), ("is the museum closed on Mondays?",
     "Opening hours"), ("how much do tickets cost for students?", "Tickets and prices"),
    ("how do I get to the museum by metro?", "Getting to the museum"), ("is there a tour guide?", "Guided tours"),
    ("what's the most famous thing in the collection?", "Highlights of the collection"),
    ("am I allowed to take pictures inside?", "Photography"), ("where can I get a coffee?", "Food and the café"),
    ("is there an elevator for wheelchairs?", "Accessibility"),
    ("visage到底是什么东西？", "visage 是什么"), ("我该怎么在电脑上装visage？", "安装 visage"),
    ("运行它需要独立显卡吗？", "硬件要求"), ("这个软件都有什么功能？", "visage 的功能"),
    ("没有网络的时候能用吗？", "隐私与离线使用"), ("我的个人信息会被泄露吗？", "隐私与离线使用"),
    ("你会讲普通话吗？", "支持的语言"), ("数字人的脸能做出什么表情？", "情绪表达"),
    ("怎样把我的照片变成数字人？", "使用自己的照片"), ("能不能接入本地的大模型？", "接入大语言模型"),
    ("代码是什么开源协议？", "许可证"), ("我想换一个声音可以吗？", "声音"), ("它的反应速度怎么样？", "速度"),
    ("你说话的时候我能插嘴吗？", "打断数字人"), ("怎么导入我自己的问答？", "自己的知识库"),
    ("这个软件是谁开发的？", "visage 的开发者"), ("博物馆星期六几点开门？", "开放时间"), ("周一博物馆开放吗？", "开放时间"),
    ("学生票多少钱？", "门票和价格"), ("坐地铁怎么去博物馆？", "怎么去博物馆"), ("有没有讲解员带着参观？", "讲解服务"),
    ("博物馆里最出名的展品是什么？", "镇馆之宝"), ("里面能拍照吗？", "拍照"), ("馆里有地方喝咖啡吗？", "餐饮和咖啡馆"),
    ("坐轮椅能参观吗？", "无障碍设施"),
]
# Written after the retriever was tuned on PARAPHRASES and never used to tune it: the honest figure.
FRESH_PARAPHRASES = [
    ("Is visage free to use?", "Licence"), ("what do I have to type to set it up?", "Installing visage"),
    ("Can the avatar look sad or angry?", "Emotions"), ("does the museum have a lift?", "Accessibility"),
    ("is it ok to use flash photography?", "Photography"), ("which bus goes to the museum?", "Getting to the museum"),
    ("do kids pay for entry?", "Tickets and prices"),
    ("can it run on a raspberry pi without a graphics card?", "System requirements"),
    ("where does my voice recording go?", "Privacy and working offline"),
    ("can I use a different text to speech engine?", "Voices"),
    ("visage可以免费用吗？", "许可证"), ("第一次用该怎么安装？", "安装 visage"), ("数字人会生气吗？", "情绪表达"),
    ("博物馆有电梯吗？", "无障碍设施"), ("拍照能开闪光灯吗？", "拍照"), ("坐几路公交能到博物馆？", "怎么去博物馆"),
    ("小孩要买票吗？", "门票和价格"), ("没有显卡的电脑能跑吗？", "硬件要求"), ("我的声音会上传到网上吗？", "隐私与离线使用"),
    ("能换成别的语音引擎吗？", "声音"),
]
UNRELATED = ["what is the capital of France?", "how tall is Mount Everest?", "can you recommend a good pizza recipe?",
             "who won the football world cup in 2018?", "what's the weather like tomorrow?",
             "what is the meaning of life?", "what is the square root of 144?", "how do I fix my car's brakes?",
             "法国的首都是哪里？", "珠穆朗玛峰有多高？", "推荐一个披萨的做法", "2018年世界杯谁赢了？", "明天天气怎么样？",
             "我的车刹车坏了怎么修？", "人生的意义是什么？", "144的平方根是多少？"]


@pytest.fixture(scope="module")
def kb(brain):
    return brain._kb


@pytest.mark.parametrize("language", ["en", "zh"])
def test_paraphrases_find_the_right_entry(kb, language):
    cases = [(q, want) for q, want in PARAPHRASES if language_of(q) == language]
    found = sum(bool(hit := kb.best(q, language)) and hit.entry.question == want for q, want in cases)
    assert len(cases) >= 20 and found / len(cases) >= 0.8  # measured: English 24/25, Chinese 23/25


def test_fresh_paraphrases(kb):
    found = sum(bool(hit := kb.best(q, language_of(q))) and hit.entry.question == want for q, want in FRESH_PARAPHRASES)
    assert found / len(FRESH_PARAPHRASES) >= 0.6  # measured: 15/20 (English 8/10, Chinese 7/10)


def test_unrelated_questions_are_not_answered(kb):
    assert all(kb.best(q, language_of(q)) is None for q in UNRELATED)
    assert all(h.confidence < MIN_CONFIDENCE for q in UNRELATED for h in kb.search(q, min_confidence=0.0))


# -- user knowledge bases ----------------------------------------------------------------------------------

MARKDOWN = """<!-- a comment that is not spoken -->
# Bakery

## Opening times
Also asked: When are you open?; Are you open on Sunday?
We open at **seven** every morning and close at six.
- Sundays we close at noon
- Public holidays we are closed

## Sourdough
Our sourdough rises for [two days](https://example.com).

```
code is skipped
```

## 面包价格
也问：面包多少钱？
一个面包三块钱。
"""
YAML = """faq:
  - q: Do you deliver?
    also: ["Can you bring bread to my house?"]
    a: Yes! We deliver within five kilometres, every day.
    emotion: happy
  - q: 可以刷卡吗？
    a: 可以，我们接受所有银行卡。
    lang: zh
"""


def test_a_markdown_knowledge_base(tmp_path):
    path = tmp_path / "bakery.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    entries = load_knowledge(path).entries
    assert [e.question for e in entries] == ["Opening times", "Sourdough", "面包价格"]
    assert entries[0].alternatives == ("When are you open?", "Are you open on Sunday?")
    assert entries[0].topic == "Bakery" and entries[2].language == "zh"
    assert "Sundays we close at noon." in entries[0].answer and "**" not in entries[0].answer
    assert entries[1].answer == "Our sourdough rises for two days." and "code" not in entries[1].answer
    brain = EmbeddedBrain(path, persona_name="Crumb")
    assert "seven" in ask(brain, "what time do you open in the morning?")[0].text
    assert "三块钱" in ask(brain, "面包要多少钱？")[0].text
    assert "Crumb" in ask(brain, "Who are you?")[0].text


def test_a_yaml_knowledge_base(tmp_path):
    path = tmp_path / "faq.yaml"
    path.write_text(YAML, encoding="utf-8")
    brain = EmbeddedBrain(path)
    reply = ask(brain, "Could you bring some bread to my house?")
    assert "five kilometres" in " ".join(s.text for s in reply)
    assert all(s.emotion == Emotion.HAPPY for s in reply)  # the entry's emotion
    assert "银行卡" in ask(brain, "能刷卡吗？")[0].text
    unknown = ask(brain, "What is the capital of France?")
    assert "don't know" in unknown[0].text and "Do you deliver?" in " ".join(s.text for s in unknown)


@pytest.mark.parametrize("name,content,message", [
    ("missing.md", None, "not found"),
    ("notes.txt", "hello", "use a Markdown"),
    ("broken.yaml", "- q: [unclosed", "not valid YAML"),
    ("no_answer.yaml", "- q: Where?\n  a: Here.\n- q: When?\n", "entry 2 of no_answer.yaml"),
    ("scalar.yaml", "just text", "must be a list"),
    ("empty.yaml", "[]", "has no entries"),
    ("flat.md", "Just some text without any heading.", "has no entries"),
])
def test_a_bad_knowledge_base_is_a_clear_error(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        EmbeddedBrain(path).load()


def test_time_to_first_sentence(brain):
    """Measured by bench/bench_brain.py (goal <= 20 ms); here only a loose bound, as CI machines vary."""
    times = []
    for question in ["How do I install visage?", "博物馆几点开门？", "Hello!", "What is the capital of France?"] * 5:
        began = time.perf_counter()
        next(brain.reply(Conversation("t"), question))
        times.append(time.perf_counter() - began)
    assert statistics.median(times) < 0.05
