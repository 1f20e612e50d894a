"""A conversation with a brain that remembers what was said: the terminal chat, the public facade
and every live session record turns the same way through it."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from visage.backends.llm.base import Brain, ChatTurn, Conversation, ReplySentence
from visage.backends.llm.sessions import SessionStore
from visage.core.sentiment import classify_emotion


class Chat:
    """`brain` talking in `conversation`; turns are kept in its history and, with a `store`, saved."""

    def __init__(self, brain: Brain, conversation: Conversation, store: SessionStore | None = None) -> None:
        self.brain, self.conversation, self.store = brain, conversation, store

    def reply(self, text: str, cancel: threading.Event | None = None,
              kept: Callable[[], bool] | None = None) -> Iterator[ReplySentence]:
        """The brain's reply to `text`, sentence by sentence. Both turns are recorded when the reply
        ends, as far as it went (a cancelled, failed or abandoned reply included), unless `kept` then
        says no (a reply prepared for words the user did not end with): the brain sees the history
        before this message, the message itself apart."""
        mood = classify_emotion(text)[0]
        said = []
        try:
            for sentence in self.brain.reply(self.conversation, text, mood, cancel):
                said.append(sentence.text)
                yield sentence
        finally:
            if kept is None or kept():
                self._record(ChatTurn("user", text, mood))
                if said:
                    self._record(ChatTurn("assistant", " ".join(said)))

    def ask(self, text: str) -> list[ReplySentence]:
        """The whole reply to `text`."""
        return list(self.reply(text))

    def _record(self, turn: ChatTurn) -> None:
        self.conversation.history.append(turn)
        if self.store is not None:
            self.store.append(self.conversation.session_id, turn)
