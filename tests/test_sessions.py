"""Sessions persist in SQLite, stay isolated, and keep what a brain sees within a budget."""
import threading

import pytest

from visage.backends.llm.base import ChatTurn
from visage.backends.llm.sessions import RECENT_TURNS, SUMMARY_CHARS, SessionStore
from visage.core.types import Emotion
from visage.errors import InputError


@pytest.fixture
def store(tmp_path):
    s = SessionStore(tmp_path / "s.sqlite")
    yield s
    s.close()


def test_a_session_survives_a_restart(tmp_path):
    path = tmp_path / "s.sqlite"
    first = SessionStore(path)
    c = first.create(persona="A museum guide.", language="zh")
    first.append(c.session_id, ChatTurn("user", "你好！", Emotion.HAPPY))
    first.append(c.session_id, ChatTurn("assistant", "你好，欢迎光临。"))
    first.close()
    again = SessionStore(path).load(c.session_id)
    assert again.persona == "A museum guide." and again.language == "zh"
    assert [(t.role, t.text, t.emotion) for t in again.history] == [
        ("user", "你好！", Emotion.HAPPY), ("assistant", "你好，欢迎光临。", None)]


def test_sessions_are_isolated_and_deletable(store):
    a, b = store.create(), store.create()
    store.append(a.session_id, ChatTurn("user", "secret of a"))
    assert store.load(b.session_id).history == []
    store.delete(a.session_id)
    assert store.list() == [b.session_id]
    with pytest.raises(InputError, match="no session"):
        store.load(a.session_id)
    with pytest.raises(InputError, match="no session"):
        store.append(a.session_id, ChatTurn("user", "x"))


def test_old_turns_are_folded_into_a_bounded_summary(store):
    c = store.create()
    for i in range(200):
        store.append(c.session_id, ChatTurn("user" if i % 2 == 0 else "assistant",
                                            f"Message number {i} is about topic {i}. It has a second sentence."))
    loaded = store.load(c.session_id)
    assert len(loaded.history) == RECENT_TURNS
    assert loaded.history[-1].text.startswith("Message number 199")
    assert "topic 183" in loaded.summary and "second sentence" not in loaded.summary
    assert len(loaded.summary) <= SUMMARY_CHARS


def test_concurrent_writers_do_not_mix_sessions(store):
    ids = [store.create().session_id for _ in range(4)]

    def talk(sid):
        for i in range(30):
            store.append(sid, ChatTurn("user", f"{sid}-{i}"))

    threads = [threading.Thread(target=talk, args=(sid,)) for sid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for sid in ids:
        assert all(t.text.startswith(sid) for t in store.load(sid).history)
