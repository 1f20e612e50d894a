"""How the avatar speaks in this session: its pace and loudness, as the user asked for them.

Why from the history: "slower please" is a wish for the rest of the conversation, not for one reply,
and the brain keeps no state of its own (a conversation can be resumed by another process). Each
request the user made so far ("slower please", "说快一点", "louder", "小声一点") moves the pace or the
loudness one step; every reply sentence then carries them in its tags (SentenceTags.speech_rate,
.loudness), which every voice honours through `prosody_for` (espeak's words per minute, Piper's
length_scale, the neural voice's rate).
"""
from __future__ import annotations

from dataclasses import dataclass

from visage.backends.llm.base import Conversation
from visage.backends.llm.intents import Intent, delivery_request
from visage.core.text import language_of

STEP = 1.25  # one request: a quarter faster or slower, louder or softer (a clear, not a startling, change)
SLOWEST, FASTEST = 0.64, 1.56  # two steps either way at most: beyond that speech stops sounding natural
SOFTEST, LOUDEST = 0.64, 1.56


@dataclass(frozen=True)
class Delivery:
    """Multipliers on the voice's pace and loudness for the session (1 is as the emotion says)."""

    speech_rate: float = 1.0
    loudness: float = 1.0

    def after(self, request: Intent | None) -> "Delivery":
        """This delivery after one request (SLOWER, FASTER, LOUDER, QUIETER; anything else changes nothing)."""
        rate, loud = self.speech_rate, self.loudness
        if request == Intent.SLOWER:
            rate = max(SLOWEST, rate / STEP)
        elif request == Intent.FASTER:
            rate = min(FASTEST, rate * STEP)
        elif request == Intent.LOUDER:
            loud = min(LOUDEST, loud * STEP)
        elif request == Intent.QUIETER:
            loud = max(SOFTEST, loud / STEP)
        return Delivery(round(rate, 3), round(loud, 3))


def session_delivery(conversation: Conversation, message: str = "") -> Delivery:
    """The delivery the user asked for in the conversation so far, `message` (the new one) included."""
    delivery = Delivery()
    said = [t.text for t in conversation.history if t.role == "user"] + ([message] if message else [])
    for text in (t.strip() for t in said):
        if len(text) <= 40:  # a pace request is short (delivery_request's own limit): skip the rest cheaply
            delivery = delivery.after(delivery_request(text, language_of(text)))
    return delivery
