"""A reply prepared before the user's turn has ended, said at once if the turn ends with the words it
was prepared for.

The end of a turn is only known after `vad_silence` seconds without speech (0.4 s by default), and
only then did the brain get the words and the voice start making the first sentence (the neural
voice: 0.1-0.2 s on two cores for a first phrase). A recogniser whose transcript is ready earlier in
that silence (listening.py's GUESS) lets both run during the rest of it: the reply waits, made but
unsaid, behind `gate`. The turn's end opens the gate when its words are the guess's, and anything
else (the user went on, other words, a barge-in, a typed message) drops it: its events are never
shown, its words never played, and the conversation does not record it (Chat.reply's `kept`).
"""
from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

WAIT_STEP = 0.01  # s between looks at the cancel flag while the gate is shut (a dropped reply frees
# its worker thread this soon)


@dataclass
class PreparedReply:
    """The reply to `text` in the making; `marks` are the turn's timestamps (filled in when said)."""

    text: str
    marks: dict = field(default_factory=dict)
    cancel: threading.Event = field(default_factory=threading.Event)
    gate: threading.Event = field(default_factory=threading.Event)
    future: asyncio.Future | None = None

    def wait(self) -> bool:
        """Worker thread: block until the reply is to be said (True) or dropped (False)."""
        while not self.gate.wait(WAIT_STEP):
            if self.cancel.is_set():
                return False
        return not self.cancel.is_set()

    def say(self, marks: dict) -> None:
        """The turn ended with these words: the reply goes out now, timed from `marks`."""
        self.marks.update(marks)
        self.gate.set()

    def drop(self) -> None:
        self.cancel.set()

    @property
    def kept(self) -> bool:
        """Whether the reply was said, or began to be (so the conversation records it as far as it went)."""
        return self.gate.is_set()
