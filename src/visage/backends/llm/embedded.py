"""The embedded brain (the default): a competent, honest host with no model weights.

Why: an avatar must work offline, out of the box, on any CPU, and start answering within milliseconds;
it is what every new user meets first and what runs when a model server is down. It reads what a
message is before it searches anything (intents.py): repair ("what?", "slower please") repeats the last
reply; what the user tells about themselves is remembered for the session (memory.py); thanks,
goodbyes, small talk and feelings get a social answer (small_talk.py), jokes come from a curated set
(jokes.py), the time and date from the clock and an honest "I can't see the weather" (present.py),
requests it cannot do (book, buy, call, remind) a plain "I can't" with what it can do. Only then does
it search the knowledge base (knowledge.py, BM25), and it answers only when the hit is about the
question's subject (relevance.py); otherwise it says so, in varied words (fallbacks.py).

It generates no language: it says the knowledge base's text and stock phrases (phrases.py), so it
cannot invent facts. Every sentence is tagged: stock phrases with the emotion of their words, answers
with the emotion the classifier reads in each sentence, all calmed when the user is upset; questions
back are typed as questions, and the key term of an answer is emphasised. Answers come three sentences
at a time; follow-ups ("tell me more", "还有呢", "what about X?") continue the last answer's topic, found
in `conversation.history`, and "yes" accepts a topic the brain offered ("Do you mean “Opening hours”?").
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

from visage.backends.llm import registry
from visage.backends.llm.base import Brain, Conversation, ReplySentence
from visage.backends.llm.delivery import Delivery, session_delivery
from visage.backends.llm.fallbacks import fallback, is_problem, topics
from visage.backends.llm.intents import Intent, Message, asks_question, read_message
from visage.backends.llm.jokes import is_joke, joke_part, next_joke
from visage.backends.llm.knowledge import (MIN_CONFIDENCE, SUGGEST_CONFIDENCE, KnowledgeBase, KnowledgeEntry,
                                           language_of, load_knowledge, tokenize, warm_up)
from visage.backends.llm.memory import UserFacts, asked, merge, remembered, told
from visage.backends.llm.phrases import SUGGESTION, phrase, variants_of
from visage.backends.llm.present import Clock, local_now
from visage.backends.llm.present import answer as present_answer
from visage.backends.llm.relevance import relevance
from visage.backends.llm.small_talk import chit_chat, feeling
from visage.core.sentiment import UserMood, classify_emotion, classify_user_mood
from visage.core.text import HAN, clean_text, is_chinese_language, is_han, sentence_type_of, split_sentences
from visage.core.types import Emotion, SentenceTags

MAX_ANSWER_SENTENCES = 3  # the rest waits for "tell me more"
DEFAULT_KNOWLEDGE = Path(__file__).resolve().parents[2] / "data" / "knowledge"
DEFAULT_FILES = ("visage_en.md", "visage_zh.md")
_UPSET = (Emotion.ANGRY, Emotion.DISGUSTED)
_CANNOT = {"book": "cannot_book", "buy": "cannot_buy", "call": "cannot_call", "message": "cannot_message",
           "remind": "cannot_remind", "play": "cannot_play"}
_FEELINGS = {"sad": ("sorry_sad", "here_for_you", "talk_about_it"), "happy": ("glad", "feel_happy_ask"),
             "fearful": ("feel_fearful",), "angry": ("offer_help",), "tired": ("feel_tired",),
             "bored": ("feel_bored",), "stressed": ("feel_stressed", "talk_about_it")}
_REPEAT_INTROS = tuple(variants_of("repeat_intro") + variants_of("slower_intro") + variants_of("louder_intro"))
_JOKE_TAGS = {"setup": (Emotion.NEUTRAL, 0.5), "punchline": (Emotion.HAPPY, 0.6)}  # the smile comes with the point
_CLAUSE = re.compile(r"(?<=[,;:，；：、])\s*")


@registry.register("embedded")
class EmbeddedBrain(Brain):
    """Rules for the social side, retrieval for facts. `knowledge`: a Markdown or YAML file or a folder of
    them; None for the shipped example (English and Chinese, about visage and a demo museum). `clock`:
    where the local time comes from (tests pass a fixed one)."""

    name = "embedded"

    def __init__(self, knowledge: str | Path | None = None, persona_name: str = "visage", language: str = "en",
                 clock: Clock | None = None):
        self.knowledge = knowledge
        self.persona_name = persona_name
        self.language = language
        self.clock = clock or local_now
        self._kb: KnowledgeBase | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Read and index the knowledge base and load the Chinese segmenter (about a second, once)."""
        with self._lock:
            if self._kb is not None:
                return
            paths = ([DEFAULT_KNOWLEDGE / name for name in DEFAULT_FILES] if self.knowledge is None
                     else [Path(self.knowledge)])
            warm_up()
            classify_user_mood("warm up")  # loads the sentiment lexicons
            kb = load_knowledge(*paths)
            self._answers = [split_sentences(entry.answer) for entry in kb.entries]
            self._owner = {s: i for i, sentences in enumerate(self._answers) for s in sentences if len(s) >= 8}
            self._by_label = {entry.question.strip().lower(): i for i, entry in enumerate(kb.entries)}
            self._kb = kb

    def reply(self, conversation: Conversation, message: str, user_emotion: Emotion | None = None,
              cancel: threading.Event | None = None) -> Iterator[ReplySentence]:
        self.load()
        for sentence in self._compose(conversation, message, user_emotion):
            if cancel is not None and cancel.is_set():
                return
            yield sentence

    # -- what to say ---------------------------------------------------------------------------------------

    def _compose(self, conversation: Conversation, message: str, user_emotion: Emotion | None):
        text = clean_text(message)
        lang = self._language(text, conversation)
        mood = classify_user_mood(text)
        if user_emotion is not None:
            mood = UserMood(user_emotion, max(mood.intensity, 0.5), mood.complaint or user_emotion in _UPSET)
        last = _last_reply(conversation)
        say = _Speaker(lang, len(conversation.history), mood, self.persona_name, last,
                       session_delivery(conversation, text))
        if not re.search(r"\w", text):
            yield from say.stock("not_heard")
            return
        msg = read_message(text, lang)
        if msg.intent in (Intent.REPAIR, Intent.SLOWER, Intent.LOUDER):
            yield from self._repeat(conversation, say, slower=msg.intent == Intent.SLOWER,
                                    opening="louder_intro" if msg.intent == Intent.LOUDER else "")
            return
        if msg.intent in (Intent.FASTER, Intent.QUIETER):
            yield from say.stock("faster_ack" if msg.intent == Intent.FASTER else "quieter_ack")
            return
        if msg.intent == Intent.CRITICISM:  # an apology, and honestly what it can and cannot do
            yield from say.stock("sorry_limits" if msg.detail == "knowledge" else "sorry_misunderstood")
            yield from say.steps(topics(self._kb, lang, say.turn))
            return
        facts = remembered(conversation, lang)
        upset = (mood.complaint or mood.emotion in _UPSET) and not is_problem(msg.rest, lang)
        feel = feeling(msg.rest, lang, mood) if msg.intent == Intent.QUESTION else ""
        if upset:
            yield from say.stock("sorry_complaint", "understand")
        elif feel:
            pass  # the feeling is the message: answered below, as a whole
        elif (mood.emotion == Emotion.SAD and msg.intent not in (Intent.NO, Intent.GOODBYE)
              and not asks_question(msg.rest)):  # a question is answered first: "我视力不好，有什么帮助吗"
            yield from say.stock("sorry_sad")
        elif mood.emotion == Emotion.FEARFUL:
            yield from say.stock("reassure")
        elif msg.greeting:
            yield from say.stock(msg.greeting_word or "hello")
        yield from self._main(conversation, msg, say, upset, facts, feel)

    def _main(self, conversation: Conversation, msg: Message, say: _Speaker, upset: bool, facts: UserFacts,
              feel: str):
        intent, rest = msg.intent, msg.rest
        offered = self._offered(conversation)
        recall = asked(rest, say.lang) if intent in (Intent.QUESTION, Intent.WHO_ARE_YOU) else ""
        new = told(rest, say.lang)
        if recall:
            yield from self._recall(recall, facts, say)
        elif new and intent in (Intent.QUESTION, Intent.GREETING, Intent.CANNOT):  # "call me Sam" is a name
            yield from self._noted(facts, new, say)
            if not re.search(r"[?？]", rest):
                yield from say.stock("how_can_i_help")
                return
            yield from self._question(rest, say, upset)
        elif intent == Intent.GREETING:
            yield from say.stock("offer_help") if upset else say.stock("introduce", "how_can_i_help")
        elif intent == Intent.THANKS:
            yield from say.stock("welcome_name", user=facts.name) if facts.name else say.stock("welcome")
            yield from say.stock("anything_else")
        elif intent == Intent.GOODBYE:
            yield from say.stock("goodbye_name", user=facts.name) if facts.name else say.stock("goodbye")
        elif intent == Intent.HOW_ARE_YOU:
            yield from say.stock("doing_well", "and_you")
        elif intent == Intent.WHO_ARE_YOU:
            yield from say.stock("who_i_am", "what_i_do")
        elif intent == Intent.CAPABILITIES:
            yield from say.stock("what_i_do")
            yield from say.steps(topics(self._kb, say.lang, say.turn))
        elif intent == Intent.JOKE or intent == Intent.ANOTHER and is_joke(say.last):
            yield from self._joke(conversation, say)
        elif intent == Intent.PRESENT:
            yield from say.steps(present_answer(msg.detail, self.clock(), say.lang))
        elif intent == Intent.CANNOT:
            yield from say.stock(_CANNOT.get(msg.detail, "cannot_other"))
            hit = self._best(rest, say.lang, on_subject_only=True)
            if hit is not None:
                yield from say.stock("but_i_know")
                yield from self._answer(hit.index, 0, say, hit.terms)
            else:
                yield from say.stock("can_do_here")
        elif intent in (Intent.YES, Intent.ACK) and offered is not None:
            yield from self._answer(offered, 0, say, tokenize(self._kb.entries[offered].question))
        elif intent == Intent.NO and offered is not None:
            yield from say.stock("ask_again")
        elif intent in (Intent.YES, Intent.NO, Intent.ACK):
            yield from say.stock("anything_else")
        elif intent in (Intent.MORE, Intent.ANOTHER):
            yield from self._more(conversation, say)
        elif (chat := chit_chat(rest, say.lang)) is not None:
            yield from say.stock(chat[0], **chat[1])
        elif feel:
            yield from say.stock(*_FEELINGS[feel][:2] if say.turn % 2 == 0 or len(_FEELINGS[feel]) < 3
                                 else (_FEELINGS[feel][0], _FEELINGS[feel][2]))
        elif intent == Intent.ABOUT:
            previous = self._previous(conversation)
            context = self._kb.entries[previous].question if previous is not None else ""
            yield from self._question(msg.about, say, upset, context)
        else:
            yield from self._question(rest, say, upset)

    def _question(self, question: str, say: _Speaker, upset: bool, context: str = ""):
        hit = self._best(question, say.lang)
        if hit is None and context:
            hit = self._best(f"{question} {context}", say.lang)
        if hit is not None:
            yield from self._answer(hit.index, 0, say, hit.terms)
            return
        suggestion = self._suggestion(question, say.lang)
        if suggestion is not None and not upset and say.mood.emotion != Emotion.SAD:
            yield from say.stock("not_sure")
            yield from say.stock("do_you_mean", topic=suggestion.question.rstrip("?？"))
            return
        for key, fields in fallback(question, say.lang, say.mood, upset):
            if key == "topics":
                yield from say.steps(topics(self._kb, say.lang, say.turn))
            else:
                yield from say.stock(key, **fields)

    def _best(self, question: str, lang: str, on_subject_only: bool = False):
        """The best hit that is about the question's subject (relevance.py), or None."""
        floor = SUGGEST_CONFIDENCE if on_subject_only else MIN_CONFIDENCE
        for hit in self._kb.search(question, lang, k=3, min_confidence=floor):
            judged = relevance(self._kb, hit, question, drop_task_verbs=on_subject_only)
            if judged.answers or on_subject_only and judged.suggests:
                return hit
        return None

    def _suggestion(self, question: str, lang: str) -> KnowledgeEntry | None:
        for hit in self._kb.search(question, lang, k=3, min_confidence=SUGGEST_CONFIDENCE):
            if relevance(self._kb, hit, question).suggests:
                return hit.entry
        return None

    def _answer(self, index: int, start: int, say: _Speaker, terms) -> Iterator[ReplySentence]:
        entry = self._kb.entries[index]
        for sentence in self._answers[index][start:start + MAX_ANSWER_SENTENCES]:
            yield say.answer(sentence, entry, _key_term(sentence, terms))

    def _more(self, conversation: Conversation, say: _Speaker):
        index = self._previous(conversation)
        if index is None:
            yield from say.stock("no_topic")
            return
        said = " ".join(t.text for t in conversation.history if t.role == "assistant")
        left = [i for i, s in enumerate(self._answers[index]) if s not in said]
        entry = self._kb.entries[index]
        if left:
            yield from self._answer(index, left[0], say, tokenize(entry.question))
            return
        yield from say.stock("all_i_know", topic=entry.question.rstrip("?？"))
        query = " ".join((entry.question, *entry.alternatives))
        for hit in self._kb.search(query, say.lang, k=4, min_confidence=0.0):
            if hit.entry is not entry and hit.entry.question not in said:
                yield from say.stock("want_related", topic=hit.entry.question.rstrip("?？"))
                return
        yield from say.stock("anything_else")

    def _joke(self, conversation: Conversation, say: _Speaker):
        said = " ".join(t.text for t in conversation.history if t.role == "assistant")
        joke = next_joke(say.lang, said, say.turn)
        if joke is None:
            yield from say.stock("no_more_jokes", "how_can_i_help")
            return
        yield say.tagged(joke[0], *_JOKE_TAGS["setup"])
        yield say.tagged(joke[1], *_JOKE_TAGS["punchline"])

    def _repeat(self, conversation: Conversation, say: _Speaker, slower: bool, opening: str = ""):
        """The last reply again (without a previous "I said:"); slower: cut into short phrases, calm.
        The session's new pace or loudness is in `say`'s delivery already."""
        last = say.last
        for intro in _REPEAT_INTROS:  # "Of course, I said: ..." is repeated without its preface
            last = last.removeprefix(intro).lstrip()
        sentences = split_sentences(last)
        if not sentences and opening == "louder_intro":  # "louder please" before anything was said
            yield from say.stock("louder_ack")
            return
        if not sentences:
            yield from say.stock("nothing_to_repeat")
            return
        yield from say.stock(opening or ("slower_intro" if slower else "repeat_intro"))
        for sentence in sentences:
            owner = self._owner.get(sentence)
            if owner is not None:
                again = say.answer(sentence, self._kb.entries[owner], ())
            elif part := joke_part(sentence):
                again = say.tagged(sentence, *_JOKE_TAGS[part])
            else:
                again = say.tagged(sentence, *classify_emotion(sentence))
            if not slower:
                yield again
                continue
            for piece in (p for p in _CLAUSE.split(sentence) if p.strip()):  # a pause at every clause
                yield say.tagged(piece, again.emotion, min(again.intensity, 0.3))

    def _recall(self, kind: str, facts: UserFacts, say: _Speaker):
        if kind == "me":
            if not facts:
                yield from say.stock("unknown_me")
                return
            kinds = [k for k, v in (("name", facts.name), ("home", facts.home), ("origin", facts.origin),
                                    ("like", facts.likes)) if v]
            for k in kinds:
                yield from self._recall(k, facts, say)
            return
        value = {"name": facts.name, "home": facts.home, "origin": facts.origin, "like": facts.likes}[kind]
        if not value:
            yield from say.stock({"name": "unknown_name", "home": "unknown_home", "origin": "unknown_origin",
                                  "like": "unknown_likes"}[kind])
        elif kind == "like":
            joiner = "，" if say.lang == "zh" else " and "
            yield from say.stock("your_likes", likes=joiner.join(f"{verb} {thing}" if say.lang == "en" else verb + thing
                                                                 for verb, thing in facts.likes))
        else:
            key = {"name": "your_name", "home": "your_home", "origin": "your_origin"}[kind]
            yield from say.stock(key, user=value, place=value)

    def _noted(self, old: UserFacts, new: UserFacts, say: _Speaker):
        if new.name:
            yield from say.stock("name_changed" if old.name and old.name != new.name else "nice_to_meet",
                                 user=new.name)
        if new.home:
            yield from say.stock("noted_home", place=new.home)
        if new.origin:
            yield from say.stock("noted_origin", place=new.origin)
        for verb, thing in new.likes:
            yield from say.stock("noted_like", verb=verb, thing=thing)
        merge(old, new)

    # -- the conversation so far ---------------------------------------------------------------------------

    def _previous(self, conversation: Conversation) -> int | None:
        """The entry the last answer came from (or the topic the brain offered), if any."""
        for turn in reversed(conversation.history):
            if turn.role != "assistant":
                continue
            for sentence in split_sentences(turn.text):
                if sentence in self._owner:
                    return self._owner[sentence]
            offered = self._offered_in(turn.text)
            if offered is not None:
                return offered
        return None

    def _offered(self, conversation: Conversation) -> int | None:
        """The topic the brain's last turn offered ("Do you mean “X”?"), if it did."""
        return self._offered_in(_last_reply(conversation))

    def _offered_in(self, text: str) -> int | None:
        questions = " ".join(s for s in split_sentences(text) if s.rstrip("”\"").endswith(("?", "？")))
        for label in SUGGESTION.findall(questions):
            for key in (label.lower(), label.lower() + "?", label + "？"):
                if key in self._by_label:
                    return self._by_label[key]
        return None

    def _language(self, text: str, conversation: Conversation) -> str:
        if re.search(f"[A-Za-z{HAN}]", text):
            return language_of(text)
        fallback_language = conversation.language or self.language
        return "zh" if is_chinese_language(fallback_language) else "en"


class _Speaker:
    """Turns stock phrases and answer sentences into tagged ReplySentences for one reply."""

    def __init__(self, lang: str, turn: int, mood: UserMood, name: str, last: str,
                 delivery: Delivery = Delivery()) -> None:
        self.lang, self.turn, self.mood, self.name, self.last = lang, turn, mood, name, last
        self.delivery = delivery

    def stock(self, *keys: str, **fields: str) -> Iterator[ReplySentence]:
        for key in keys:
            text, emotion, intensity = phrase(key, self.lang, self.turn, self.last, name=self.name, **fields)
            emphasis = (self.name,) if key in ("introduce", "who_i_am") else ()  # the persona's name
            for sentence in split_sentences(text):
                yield self.tagged(sentence, emotion, intensity, emphasis)

    def steps(self, steps) -> Iterator[ReplySentence]:
        for key, fields in steps:
            yield from self.stock(key, **fields)

    def answer(self, sentence: str, entry: KnowledgeEntry, emphasis: tuple[str, ...]) -> ReplySentence:
        if entry.emotion is not None:
            emotion, intensity = entry.emotion, 0.6
        else:
            emotion, intensity = classify_emotion(sentence)
            if emotion == Emotion.NEUTRAL and sentence.rstrip().endswith(("!", "！")):
                emotion = Emotion.HAPPY  # the knowledge base's author was excited about this fact
            if emotion in (Emotion.HAPPY, Emotion.SURPRISED):
                intensity = min(max(intensity, 0.5), 0.8)  # an exciting fact, said with a smile
            elif emotion != Emotion.NEUTRAL:
                intensity = min(intensity, 0.5)
        return self.tagged(sentence, emotion, intensity, emphasis)

    def tagged(self, text: str, emotion: Emotion, intensity: float, emphasis: tuple[str, ...] = ()) -> ReplySentence:
        mood = self.mood
        if mood.complaint or mood.emotion in _UPSET:  # calm and empathic: no cheer, nothing loud
            if emotion in (Emotion.HAPPY, Emotion.SURPRISED):
                emotion, intensity = Emotion.NEUTRAL, 0.4
            intensity = min(intensity, 0.5)
        elif mood.emotion in (Emotion.SAD, Emotion.FEARFUL) and emotion in (Emotion.HAPPY, Emotion.SURPRISED):
            intensity = min(intensity, 0.35)  # gentle
        elif mood.emotion == Emotion.HAPPY and emotion == Emotion.HAPPY:
            intensity = min(1.0, intensity + 0.1)  # share the joy
        tags = SentenceTags(emotion, round(intensity, 2), sentence_type_of(text), emphasis, self.lang,
                            self.delivery.speech_rate, self.delivery.loudness)
        return ReplySentence(text, tags=tags)


def _last_reply(conversation: Conversation) -> str:
    return next((t.text for t in reversed(conversation.history) if t.role == "assistant"), "")


def _key_term(sentence: str, terms) -> tuple[str, ...]:
    """The rarest matched query term as it is written in `sentence`, to be emphasised; () if absent."""
    for term in terms:
        if is_han(term[:1]):
            if len(term) >= 2 and term in sentence:
                return (term,)
            continue
        for word in re.findall(r"[A-Za-z][A-Za-z'-]*", sentence):
            if tokenize(word) == [term]:
                return (word,)
    return ()
