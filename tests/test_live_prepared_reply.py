"""A reply prepared in the silence that ends the user's turn (live/prepared.py), with the real brain,
voice, motion engine and output: it shows and plays nothing until the turn ends with its words, then
goes out at once; a guess the user talks past is dropped without a trace in the conversation."""
import asyncio
import time

import numpy as np
import pytest

from visage.backends.llm.sessions import SessionStore
from visage.live.listening import Heard, HeardKind
from visage.live.options import LiveOptions
from visage.live.services import LiveServices
from visage.live.session import LiveSession

QUESTION = "hello what can you do"


@pytest.fixture(scope="module")
def services(tmp_path_factory, default_avatar):
    s = LiveServices(SessionStore(tmp_path_factory.mktemp("prepared") / "s.sqlite"))
    s._avatars[None] = default_avatar
    return s


def turn(text: str) -> Heard:
    """A turn that ended now (the listener's clock is at 0 in these tests)."""
    return Heard(HeardKind.TURN, text, speech_end=0.0, decided=0.0, final_ready=time.time())


async def run(services, steps, **options):
    """Feed `steps` ((seconds to wait, Heard) pairs) to a browser-drawn session while its audio is
    pulled as a peer would; return (events with times, audio levels with times, the session)."""
    session = LiveSession(LiveOptions(drawing="browser", **options), services)
    await session.start()
    events, audio = [], []

    async def pull_events():
        async for e in session.events():
            events.append((time.monotonic(), e.to_message()))

    async def pull_audio():
        while True:
            frame = await session.audio.recv()
            audio.append((time.monotonic(), np.abs(frame.to_ndarray()).max() / 32768))

    tasks = [asyncio.ensure_future(f()) for f in (pull_events, pull_audio)]
    marks = []
    for wait, heard in steps:
        await asyncio.sleep(wait)
        marks.append(time.monotonic())
        session._on_heard(heard, time.time())
    await asyncio.sleep(3.0)
    for t in tasks:
        t.cancel()
    await session.close()
    return events, audio, marks, session


def test_a_prepared_reply_waits_unseen_then_goes_out_at_once(services):
    steps = [(0.3, Heard(HeardKind.GUESS, QUESTION)), (1.2, turn(QUESTION))]
    events, audio, (guessed, ended), session = asyncio.run(run(services, steps))
    before = [e for t, e in events if t < ended]
    assert not [e for e in before if e["type"] in ("reply", "emotion")], before  # nothing shown early
    assert max([level for t, level in audio if t < ended] or [0]) < 0.01  # nor heard
    latency = next(e for _, e in events if e["type"] == "latency")
    assert latency["prepared_ahead"] > 1.0  # begun at the guess, 1.2 s before the turn ended
    # the neural voice's first phrase takes 0.1-0.3 s to make; prepared, none of it is waited for
    assert latency["brain_first_sentence"] + latency["first_voice_chunk"] < 0.05, latency
    loud = [t for t, level in audio if t > ended and level > 0.05]
    assert loud and loud[0] - ended < 0.5  # the voice went out (its scheduling lead and a packet or two)
    said = [turn.text for turn in session.chat.conversation.history]
    assert said[0] == QUESTION and len(said) == 2  # recorded once, with its answer


def test_a_guess_the_user_talks_past_is_dropped_without_a_trace(services):
    steps = [(0.3, Heard(HeardKind.GUESS, "tell me a joke")), (0.8, Heard(HeardKind.RESUMED)),
             (0.5, turn("tell me a joke about cats"))]
    events, _, _, session = asyncio.run(run(services, steps))
    replies = [e for _, e in events if e["type"] == "reply"]
    latency = next(e for _, e in events if e["type"] == "latency")
    assert replies and "prepared_ahead" not in latency  # the answer was to the whole turn, made after it
    said = [turn.text for turn in session.chat.conversation.history if turn.role == "user"]
    assert said == ["tell me a joke about cats"]


def test_other_final_words_replace_the_prepared_reply(services):
    steps = [(0.3, Heard(HeardKind.GUESS, "what is visage")), (0.8, turn("what is your name"))]
    events, _, _, session = asyncio.run(run(services, steps))
    said = [turn.text for turn in session.chat.conversation.history if turn.role == "user"]
    assert said == ["what is your name"]
    assert "prepared_ahead" not in next(e for _, e in events if e["type"] == "latency")


def test_preparing_can_be_turned_off(services):
    steps = [(0.3, Heard(HeardKind.GUESS, QUESTION)), (0.8, turn(QUESTION))]
    events, _, _, session = asyncio.run(run(services, steps, prepare_reply=False))
    latency = next(e for _, e in events if e["type"] == "latency")
    assert "prepared_ahead" not in latency and latency["first_voice_chunk"] > 0.02
    assert [turn.text for turn in session.chat.conversation.history if turn.role == "user"] == [QUESTION]
