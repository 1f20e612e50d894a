"""The recogniser in a child process: the same transcripts as in this process, errors that cross the
process boundary as the errors they were, and a child that dies is replaced."""
from __future__ import annotations

import pickle
import time

import numpy as np
import pytest

from visage.backends.asr import create_asr
from visage.backends.asr.process import RecognizerProcess
from visage.core.audio import resample
from visage.core.types import SpeechRequest
from visage.errors import BackendError, InputError, MissingExtraError

from conftest import speak


@pytest.fixture(scope="module")
def question(espeak) -> np.ndarray:
    samples, rate, _, _ = speak(espeak, SpeechRequest("I would like to go to the shop."))
    return np.concatenate([np.zeros(3200), resample(samples, rate, 16000), np.zeros(8000)]).astype(np.float32)


@pytest.fixture(scope="module")
def child():
    recognizer = RecognizerProcess("pocketsphinx")
    recognizer.load()
    yield recognizer
    recognizer.close()


def test_the_child_gives_the_same_transcript_and_partials_on_the_way(child, question):
    here = create_asr("pocketsphinx").conversation().stream()
    here.feed(question)
    expected = here.finish().text
    assert expected

    stream = child.conversation().stream()
    partials = []
    for i in range(0, len(question), 320):
        partial = stream.feed(question[i: i + 320])
        if partial is not None:
            partials.append(partial.text)
    deadline = time.monotonic() + 10
    while not partials and time.monotonic() < deadline:  # they come back while the child decodes
        partial = stream.feed(np.zeros(0, np.float32))
        if partial is not None:
            partials.append(partial.text)
        time.sleep(0.01)
    final = stream.finish()
    assert final.final and final.text == expected
    assert partials and all(p.strip() for p in partials)
    with pytest.raises(InputError):
        stream.feed(question[:320])


def test_streams_of_two_conversations_decode_side_by_side(child, question):
    a, b = child.conversation().stream(), child.conversation().stream()
    for i in range(0, len(question), 1600):
        a.feed(question[i: i + 1600])
        b.feed(question[i: i + 1600])
    assert a.finish().text == b.finish().text != ""


def test_errors_cross_the_process_boundary_as_they_were(child, question):
    stream = child.stream("de")  # pocketsphinx is English only: said at the first call after the child answers
    with pytest.raises(InputError, match="faster-whisper"):
        stream.feed(question)
        stream.finish()
    with pytest.raises(InputError, match="unknown speech recogniser"):
        RecognizerProcess("no-such-recogniser").load()
    error = pickle.loads(pickle.dumps(MissingExtraError("piper", "piper", "piper")))
    assert isinstance(error, MissingExtraError) and "pip install 'visage[piper]'" in str(error)


def test_a_dead_child_fails_its_streams_and_is_replaced(question):
    recognizer = RecognizerProcess("pocketsphinx")
    try:
        conversation = recognizer.conversation()
        stream = conversation.stream()
        stream.feed(question[:16000])
        recognizer._child._process.kill()
        with pytest.raises(BackendError, match="stopped"):
            stream.finish()
        again = conversation.stream()  # a new child
        again.feed(question)
        assert again.finish().text
    finally:
        recognizer.close()
