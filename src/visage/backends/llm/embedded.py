"""The embedded brain (the default): a persona that answers from a knowledge base, with no model weights.

Why: an avatar must work offline, out of the box, on any CPU, and start answering within milliseconds.
This brain handles the social side of a conversation by rules (intents.py), answers questions by BM25
retrieval over a Markdown or YAML knowledge base (knowledge.py), and says so honestly when it has no
answer. It generates no language: it says the knowledge base's text and a few stock phrases, so it
cannot invent facts. Every sentence is tagged: stock phrases with the emotion of their words (an
apology is sad, a greeting happy), answers with the emotion the classifier reads in each sentence (an
exciting fact is happy), all calmed when the user is upset; questions back are typed as questions, and
the key term of an answer is emphasised.

Answers come three sentences at a time; follow-ups ("tell me more", "why?", "还有呢", "what about X?")
continue the topic of the last answer, found in `conversation.history`, and "yes" accepts a topic the
brain offered ("Do you mean “Opening hours”?").
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

from visage.backends.llm import registry
from visage.backends.llm.base import Brain, Conversation, ReplySentence
from visage.backends.llm.intents import SUGGESTION, Intent, Message, phrase, read_message
from visage.backends.llm.knowledge import (MIN_CONFIDENCE, SUGGEST_CONFIDENCE, KnowledgeBase, KnowledgeEntry,
                                           language_of, load_knowledge, tokenize, warm_up)
from visage.core.sentiment import UserMood, classify_emotion, classify_user_mood
from visage.core.text import HAN, clean_text, is_chinese_language, is_han, sentence_type_of, split_sentences
from visage.core.types import Emotion, SentenceTags

MAX_ANSWER_SENTENCES = 3  # the rest waits for "tell me more"
SUGGESTED_TOPICS = 3
DEFAULT_KNOWLEDGE = Path(__file__).resolve().parents[2] / "data" / "knowledge"
DEFAULT_FILES = ("visage_en.md", "visage_zh.md")
_UPSET = (Emotion.ANGRY, Emotion.DISGUSTED)


@registry.register("embedded")
class EmbeddedBrain(Brain):
    """Rules for the social side, retrieval for facts. `knowledge`: a Markdown or YAML file or a folder of
    them; None for the shipped example (English and Chinese, about visage and a demo museum)."""

    name = "embedded"

    def __init__(self, knowledge: str | Path | None = None, persona_name: str = "visage", language: str = "en"):
        self.knowledge = knowledge
        self.persona_name = persona_name
        self.language = language
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
        say = _Speaker(lang, len(conversation.history), mood, self.persona_name)
        if not re.search(r"\w", text):
            yield from say.stock("not_heard")
            return
        msg = read_message(text, lang)
        upset = mood.complaint or mood.emotion in _UPSET
        if upset:
            yield from say.stock("sorry_complaint", "understand")
        elif mood.emotion == Emotion.SAD and msg.intent not in (Intent.NO, Intent.GOODBYE):
            yield from say.stock("sorry_sad")
        elif mood.emotion == Emotion.FEARFUL:
            yield from say.stock("reassure")
        elif msg.greeting:
            yield from say.stock("hello")
        yield from self._main(conversation, msg, say, upset)

    def _main(self, conversation: Conversation, msg: Message, say: _Speaker, upset: bool):
        intent = msg.intent
        offered = self._offered(conversation)
        if intent == Intent.GREETING:
            yield from say.stock("offer_help") if upset else say.stock("introduce", "how_can_i_help")
        elif intent == Intent.THANKS:
            yield from say.stock("welcome", "anything_else")
        elif intent == Intent.GOODBYE:
            yield from say.stock("goodbye")
        elif intent == Intent.HOW_ARE_YOU:
            yield from say.stock("doing_well", "and_you")
        elif intent == Intent.WHO_ARE_YOU:
            yield from say.stock("who_i_am", "what_i_do")
        elif intent == Intent.CAPABILITIES:
            yield from say.stock("what_i_do")
            yield from self._topics(say)
        elif intent in (Intent.YES, Intent.ACK) and offered is not None:
            yield from self._answer(offered, 0, say, tokenize(self._kb.entries[offered].question))
        elif intent == Intent.NO and offered is not None:
            yield from say.stock("ask_again")
        elif intent in (Intent.YES, Intent.NO, Intent.ACK):
            yield from say.stock("anything_else")
        elif intent == Intent.MORE:
            yield from self._more(conversation, say)
        elif intent == Intent.ABOUT:
            previous = self._previous(conversation)
            context = self._kb.entries[previous].question if previous is not None else ""
            yield from self._question(msg.about, say, upset, context)
        else:
            yield from self._question(msg.rest, say, upset)

    def _question(self, question: str, say: _Speaker, upset: bool, context: str = ""):
        kb = self._kb
        hits = kb.search(question, say.lang, k=1, min_confidence=SUGGEST_CONFIDENCE)
        if context and not (hits and hits[0].confidence >= MIN_CONFIDENCE):
            hits = kb.search(f"{question} {context}", say.lang, k=1) or hits
        if hits and hits[0].confidence >= MIN_CONFIDENCE:
            yield from self._answer(hits[0].index, 0, say, hits[0].terms)
        elif upset:
            yield from say.stock("offer_help")
        elif say.mood.emotion == Emotion.SAD:
            yield from say.stock("talk_about_it")
        elif say.mood.emotion == Emotion.HAPPY and not question.rstrip().endswith(("?", "？")):
            yield from say.stock("glad", "how_can_i_help")
        elif hits:
            yield from say.stock("not_sure")
            yield from say.stock("do_you_mean", topic=hits[0].entry.question.rstrip("?？"))
        else:
            yield from say.stock("dont_know")
            yield from self._topics(say)

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
        for hit in self._kb.search(query, say.lang, k=SUGGESTED_TOPICS + 1, min_confidence=0.0):
            if hit.entry is not entry and hit.entry.question not in said:
                yield from say.stock("want_related", topic=hit.entry.question.rstrip("?？"))
                return
        yield from say.stock("anything_else")

    def _topics(self, say: _Speaker):
        entries = self._kb.in_language(say.lang)
        firsts = {e.topic: e for e in reversed(entries)}  # the first entry of each section
        picked = [e for e in entries if firsts.get(e.topic) is e][:SUGGESTED_TOPICS]
        picked += [e for e in entries if e not in picked][: SUGGESTED_TOPICS - len(picked)]
        picked.sort(key=entries.index)
        chosen = [e.question.rstrip("?？") for e in picked]
        if any(e.question.rstrip().endswith(("?", "？")) for e in picked):
            quoted = [f"“{q}？”" if say.lang == "zh" else f"“{q}?”" for q in chosen]
            yield from say.stock("you_can_ask", topics=_join(quoted, say.lang))
        else:
            labels = chosen if say.lang == "zh" else [_lower_first(q) for q in chosen]
            yield from say.stock("i_can_tell", topics=_join(labels, say.lang))
        yield from say.stock("how_can_i_help")

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
        last = next((t for t in reversed(conversation.history) if t.role == "assistant"), None)
        return self._offered_in(last.text) if last is not None else None

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
        fallback = conversation.language or self.language
        return "zh" if is_chinese_language(fallback) else "en"


class _Speaker:
    """Turns stock phrases and answer sentences into tagged ReplySentences for one reply."""

    def __init__(self, lang: str, turn: int, mood: UserMood, name: str) -> None:
        self.lang, self.turn, self.mood, self.name = lang, turn, mood, name

    def stock(self, *keys: str, **fields: str) -> Iterator[ReplySentence]:
        for key in keys:
            text, emotion, intensity = phrase(key, self.lang, self.turn, name=self.name, **fields)
            emphasis = (self.name,) if key in ("introduce", "who_i_am") else ()  # the persona's name
            for sentence in split_sentences(text):
                yield self._tagged(sentence, emotion, intensity, emphasis)

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
        return self._tagged(sentence, emotion, intensity, emphasis)

    def _tagged(self, text: str, emotion: Emotion, intensity: float, emphasis: tuple[str, ...]) -> ReplySentence:
        mood = self.mood
        if mood.complaint or mood.emotion in _UPSET:  # calm and empathic: no cheer, nothing loud
            if emotion in (Emotion.HAPPY, Emotion.SURPRISED):
                emotion, intensity = Emotion.NEUTRAL, 0.4
            intensity = min(intensity, 0.5)
        elif mood.emotion in (Emotion.SAD, Emotion.FEARFUL) and emotion in (Emotion.HAPPY, Emotion.SURPRISED):
            intensity = min(intensity, 0.35)  # gentle
        elif mood.emotion == Emotion.HAPPY and emotion == Emotion.HAPPY:
            intensity = min(1.0, intensity + 0.1)  # share the joy
        tags = SentenceTags(emotion, round(intensity, 2), sentence_type_of(text), emphasis, self.lang)
        return ReplySentence(text, tags=tags)


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


def _join(items: list[str], lang: str) -> str:
    if len(items) < 2:
        return "".join(items)
    if lang == "zh":
        return "、".join(items[:-1]) + "和" + items[-1]
    return ", ".join(items[:-1]) + " or " + items[-1]


def _lower_first(label: str) -> str:
    return label[0].lower() + label[1:] if len(label) > 1 and label[1].islower() else label
