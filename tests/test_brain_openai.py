"""The OpenAI-compatible brain against a real local SSE server (tests/llm_servers.py).

A reply streams sentence by sentence while the server is still sending; cancel closes the stream at
once; every way a server fails ends the reply with an apology in the user's language and a log line
that names the cause, never an exception; the context sent stays within the token budget.
"""
from __future__ import annotations

import logging
import threading
import time

import pytest

from llm_servers import ERROR_TEXT, LocalChatServer, closed_port_url
from visage.backends.llm import create_brain
from visage.backends.llm.base import ChatTurn, Conversation
from visage.backends.llm.openai_chat import APOLOGIES, OpenAIChatBrain
from visage.backends.llm.prompt import build_messages, estimate_tokens, select_knowledge
from visage.core.tags import TAG_FORMAT_PROMPT
from visage.core.types import Emotion
from visage.errors import BackendError, InputError

TOKENS = ["[hap", "py 0.", "7] Hel", "lo *wor", "ld*! ", "[sad", " 0.4] I am", " sorry", " you waited.",
          " [neutral] How", " can I", " help?"]
LONG = ["[happy 0.5] Let", " me", " tell", " you", " a", " story."] + [f" Sentence {i} is here." for i in range(200)]


@pytest.fixture
def make_brain():
    made = []

    def make(url: str, **options) -> OpenAIChatBrain:
        options = {"model": "visage-test", "api_key": "sk-test", "first_token_timeout": 2.0, "timeout": 2.0,
                   **options}
        brain = create_brain("openai", base_url=url, **options)
        made.append(brain)
        return brain

    yield make
    for brain in made:
        brain.close()


def conversation(language: str = "en", **fields) -> Conversation:
    return Conversation("s1", persona="You are Ada, a museum guide.", language=language, **fields)


def failure_logged(caplog, text: str) -> bool:
    return any(r.levelno == logging.ERROR and text in r.getMessage() for r in caplog.records)


def test_a_reply_streams_tagged_sentences_and_sends_a_proper_request(make_brain):
    with LocalChatServer(TOKENS) as server:
        brain = make_brain(server.url, temperature=0.3)
        out = list(brain.reply(conversation(), "Hello!", Emotion.SAD))
    assert [(s.text, s.emotion, s.intensity, s.emphasis) for s in out] == [
        ("Hello world!", Emotion.HAPPY, 0.7, ("world",)),
        ("I am sorry you waited.", Emotion.SAD, 0.4, ()),
        ("How can I help?", Emotion.NEUTRAL, 0.5, ())]
    assert out[2].sentence_type.value == "question" and all(s.language == "en" for s in out)
    req = server.requests[0]
    assert req.path == "/v1/chat/completions" and req.headers["authorization"] == "Bearer sk-test"
    body = req.json
    assert body["model"] == "visage-test" and body["stream"] is True and body["temperature"] == 0.3
    system, user = body["messages"]
    assert system["role"] == "system" and "Ada" in system["content"] and TAG_FORMAT_PROMPT in system["content"]
    assert "sounds sad" in system["content"]
    assert user == {"role": "user", "content": "Hello!"}


def test_the_first_sentence_arrives_while_the_server_is_still_sending(make_brain):
    with LocalChatServer(TOKENS * 3, mode="slow", delay=0.05) as server:
        brain = make_brain(server.url)
        started = time.monotonic()
        replies = brain.reply(conversation(), "Hi")
        first = next(replies)
        first_at, sent_then, done_then = time.monotonic() - started, server.sent, server.finished.is_set()
        rest = list(replies)
    assert first.text == "Hello world!"
    assert not done_then and sent_then <= 6 < len(TOKENS) * 3
    assert first_at < 0.6  # the whole stream takes 1.75 s
    assert len(rest) == 8 and server.finished.is_set()


def test_cancel_stops_the_stream_at_once(make_brain):
    cancel = threading.Event()
    with LocalChatServer(LONG, mode="slow", delay=0.02) as server:
        brain = make_brain(server.url)
        out = []
        for sentence in brain.reply(conversation(), "Tell me a story", cancel=cancel):
            out.append(sentence)
            if len(out) == 2:
                cancel.set()
                cancelled_at = time.monotonic()
        ended_after = time.monotonic() - cancelled_at
        assert server.client_gone.wait(1.0), "the server never saw the connection close"
        gone_after = time.monotonic() - cancelled_at
    assert len(out) == 2 and ended_after < 0.1 and gone_after < 0.3
    assert server.sent < 30 and not server.finished.is_set()


def test_cancel_while_the_model_is_still_silent_returns_at_once_without_apology(make_brain):
    cancel = threading.Event()
    with LocalChatServer(mode="silent") as server:
        brain = make_brain(server.url, first_token_timeout=10)
        threading.Timer(0.2, cancel.set).start()
        started = time.monotonic()
        out = list(brain.reply(conversation(), "Hi", cancel=cancel))
        assert time.monotonic() - started < 0.35 and out == []
    assert list(brain.reply(conversation(), "Hi", cancel=cancel)) == []  # cancelled before it began


def test_dropping_the_reply_closes_the_stream(make_brain):
    with LocalChatServer(LONG, mode="slow", delay=0.02) as server:
        replies = make_brain(server.url).reply(conversation(), "Tell me a story")
        next(replies)
        replies.close()
        assert server.client_gone.wait(0.5)


def test_a_server_that_ignores_stream_still_gets_its_reply_spoken(make_brain):
    with LocalChatServer(TOKENS, mode="whole") as server:
        out = list(make_brain(server.url).reply(conversation(), "Hi"))
    assert [(s.text, s.emotion) for s in out] == [
        ("Hello world!", Emotion.HAPPY), ("I am sorry you waited.", Emotion.SAD), ("How can I help?", Emotion.NEUTRAL)]


def test_a_server_error_ends_in_an_apology_and_a_log_line(make_brain, caplog):
    with LocalChatServer(mode="error") as server:
        out = list(make_brain(server.url).reply(conversation(), "Hi"))
    assert [(s.text, s.emotion) for s in out] == [(APOLOGIES["en"][0], Emotion.SAD)]
    assert failure_logged(caplog, ERROR_TEXT) and failure_logged(caplog, "HTTP 500")


def test_a_wrong_api_key_is_named(make_brain, caplog):
    with LocalChatServer(api_key="sk-right") as server:
        out = list(make_brain(server.url, api_key="sk-wrong").reply(conversation(), "Hi"))
    assert [s.text for s in out] == [APOLOGIES["en"][0]]
    assert failure_logged(caplog, "Incorrect API key") and failure_logged(caplog, "check the API key")


def test_a_cut_off_stream_keeps_what_was_said_and_apologises(make_brain, caplog):
    with LocalChatServer(TOKENS, mode="cutoff") as server:
        out = list(make_brain(server.url).reply(conversation(), "Hi"))
    assert [s.text for s in out] == ["Hello world!", APOLOGIES["en"][1]]
    assert failure_logged(caplog, "cut off")


def test_a_server_that_never_answers_times_out(make_brain, caplog):
    with LocalChatServer(mode="silent") as server:
        started = time.monotonic()
        out = list(make_brain(server.url, first_token_timeout=0.5).reply(conversation(), "Hi"))
        elapsed = time.monotonic() - started
    assert 0.45 < elapsed < 1.0
    assert [s.text for s in out] == [APOLOGIES["en"][0]] and failure_logged(caplog, "sent no reply: nothing within 0.5 s")


def test_a_stream_that_stalls_mid_reply_times_out(make_brain, caplog):
    with LocalChatServer(TOKENS, mode="stall") as server:
        started = time.monotonic()
        out = list(make_brain(server.url, timeout=0.5).reply(conversation(), "Hi"))
        elapsed = time.monotonic() - started
    assert 0.45 < elapsed < 1.0
    assert [s.text for s in out] == ["Hello world!", APOLOGIES["en"][1]] and failure_logged(caplog, "stalled mid-reply")


def test_invalid_json_in_the_stream_is_a_failure(make_brain, caplog):
    with LocalChatServer(TOKENS, mode="bad_json") as server:
        out = list(make_brain(server.url).reply(conversation(), "Hi"))
    assert out[-1].text == APOLOGIES["en"][1] and failure_logged(caplog, "invalid JSON")


def test_a_server_that_is_down_is_named_and_load_refuses_it(make_brain, caplog):
    brain = make_brain(closed_port_url())
    out = list(brain.reply(conversation(), "Hi"))
    assert [s.text for s in out] == [APOLOGIES["en"][0]] and failure_logged(caplog, "cannot reach")
    with pytest.raises(BackendError, match="is it running"):
        brain.load()


def test_the_apology_is_in_the_users_language(make_brain):
    with LocalChatServer(mode="error") as server:
        brain = make_brain(server.url)
        zh = list(brain.reply(conversation("zh"), "你好"))
        zh_message = list(brain.reply(conversation("en"), "你好，今天怎么样？"))
    for out in (zh, zh_message):
        assert [(s.text, s.language, s.emotion) for s in out] == [(APOLOGIES["zh"][0], "zh", Emotion.SAD)]


def test_the_context_stays_within_the_token_budget(make_brain, tmp_path):
    faq = tmp_path / "faq.md"
    faq.write_text("# When does the museum open?\nThe museum opens at nine.\n\n"
                   "# How much is a ticket?\nTickets cost ten euros.\n", encoding="utf-8")
    history = [ChatTurn("user" if i % 2 == 0 else "assistant", f"Turn {i}: " + "words about the museum " * 12,
                        Emotion.HAPPY if i % 2 else None) for i in range(60)]
    conv = conversation(history=history, summary="We talked about the museum's opening hours.")
    with LocalChatServer() as server:
        brain = make_brain(server.url, token_budget=1000, knowledge=faq)
        list(brain.reply(conv, "When does the museum open?"))
    messages = server.requests[0].json["messages"]
    assert sum(estimate_tokens(m["content"]) + 4 for m in messages) <= 1000
    assert "opening hours" in messages[0]["content"] and "opens at nine" in messages[0]["content"]
    assert "ten euros" not in messages[0]["content"]  # only the entries that match the question
    assert messages[-1] == {"role": "user", "content": "When does the museum open?"}
    kept = [m["content"] for m in messages[1:-1]]
    assert 2 <= len(kept) < 60 and kept[-1].startswith("[happy] Turn 59:")
    assert not any(c.startswith(("Turn 0:", "[happy] Turn 1:")) for c in kept)
    assert [m["role"] for m in messages[1:]] == ["user", "assistant"] * (len(kept) // 2) + ["user"]


@pytest.mark.parametrize("model,fold,folded", [("gemma-3-270m", None, True), ("visage-test", None, False),
                                               ("visage-test", True, True), ("gemma3", False, False)])
def test_the_system_prompt_is_folded_for_models_that_drop_it(make_brain, model, fold, folded):
    history = [ChatTurn("user", "Hi"), ChatTurn("assistant", "Hello!", Emotion.HAPPY)]
    with LocalChatServer(TOKENS) as server:
        brain = make_brain(server.url, model=model, fold_system=fold)
        assert list(brain.reply(conversation(history=history), "Who are you?"))
    messages = server.requests[0].json["messages"]
    if folded:  # the instructions reach the model in its first user turn; the turns stay as they were
        assert [m["role"] for m in messages] == ["user", "assistant", "user"]
        assert "Ada" in messages[0]["content"] and TAG_FORMAT_PROMPT in messages[0]["content"]
        assert messages[0]["content"].endswith("\n\nHi") and messages[2]["content"] == "Who are you?"
    else:
        assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]


def test_messages_alternate_and_a_huge_message_is_trimmed():
    conv = conversation(history=[ChatTurn("assistant", "Welcome!"), ChatTurn("user", "Hello?")])
    messages = build_messages(conv, "Anyone there? " + "x " * 5000, token_budget=600)
    assert [m["role"] for m in messages] == ["system", "user"]  # leading reply dropped, user turns merged
    assert messages[1]["content"].startswith("Hello?\n\nAnyone there?")
    assert sum(estimate_tokens(m["content"]) + 4 for m in messages) <= 600


def test_a_chinese_session_is_asked_for_chinese_with_tags_kept_in_english():
    system = build_messages(conversation("zh"), "你好")[0]["content"]
    assert "简体中文" in system and "[happy 0.8]" in system


def test_knowledge_snippets_are_chosen_by_overlap_when_they_do_not_all_fit():
    snippets = [f"Unrelated fact number {i} about gardening and soil." for i in range(50)]
    snippets.insert(30, "The dinosaur hall is on the second floor.")
    assert select_knowledge(snippets, "Where is the dinosaur hall?", 40)[0] == snippets[30]
    assert select_knowledge(snippets[:2], "anything", 1000) == snippets[:2]


def test_the_http_client_is_reused_across_replies(make_brain):
    with LocalChatServer(TOKENS) as server:
        brain = make_brain(server.url)
        client = brain.client
        for _ in range(3):
            assert len(list(brain.reply(conversation(), "Hi"))) == 3
        brain.load()
    assert brain.client is client
    assert len({r.client_port for r in server.requests}) == 1  # one kept-alive connection


def test_load_warns_about_a_model_the_server_does_not_list(make_brain, caplog):
    with LocalChatServer() as server:
        make_brain(server.url, model="llama3:8b").load()
    assert any("does not list model 'llama3:8b'" in r.getMessage() for r in caplog.records)


def test_options_are_checked(monkeypatch):
    monkeypatch.delenv("OPENAI_MODEL", raising=False)
    with pytest.raises(InputError, match="model"):
        OpenAIChatBrain(base_url="http://127.0.0.1:1/v1")
    with pytest.raises(InputError, match="http://"):
        OpenAIChatBrain(base_url="localhost:11434", model="m")
    with pytest.raises(InputError, match="token_budget"):
        OpenAIChatBrain(base_url="http://127.0.0.1:1/v1", model="m", token_budget=10)
    with pytest.raises(InputError, match="timeout"):
        OpenAIChatBrain(base_url="http://127.0.0.1:1/v1", model="m", timeout=0)
