"""The openai brain against a real llama.cpp server (llama-cpp-python) serving Gemma 3 270M: slow.

Run: .venv/bin/python -m pytest -m slow tests/test_brain_llama.py (needs the `llamacpp` extra). The
server is started on 127.0.0.1 by the test and stopped after. Checked: the chat format the server
uses for Gemma drops a system message (so the brain folds its instructions into the first user turn), a reply
streams through the real server's server-sent events into tagged sentences, and a cancel mid-reply
closes the stream while the server goes on serving. How often the model follows the tag format is
measured by bench/bench_brain_llama.py (a 270M base model is not expected to).
"""
from __future__ import annotations

import threading
import time

import pytest

from llama_server import LlamaServer, gemma_gguf, llama_available
from visage.backends.llm import create_brain
from visage.backends.llm.base import Conversation
from visage.core.tags import TAG_FORMAT_PROMPT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model():
    missing = llama_available()
    if missing:
        pytest.fail(missing)  # a slow run without the extra is a failure, not a skip
    return gemma_gguf()


@pytest.fixture(scope="module")
def server(model, tmp_path_factory):
    with LlamaServer(model, log=tmp_path_factory.mktemp("llama") / "server.log") as running:
        yield running


def test_the_gemma_chat_format_drops_the_system_message(model):
    """The GGUF has no chat template of its own, so the server formats chats with llama-cpp-python's
    "gemma" format, which has no system role: a system message never reaches the model."""
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import format_gemma

    assert "tokenizer.chat_template" not in Llama(str(model), vocab_only=True, verbose=False).metadata
    marker = "Begin every sentence with a tag"
    system = format_gemma([{"role": "system", "content": marker}, {"role": "user", "content": "Hi"}]).prompt
    folded = format_gemma([{"role": "user", "content": f"{marker}\n\nHi"}]).prompt
    assert marker not in system and marker in folded


def test_a_reply_streams_from_the_real_server(server):
    brain = create_brain("openai", base_url=server.url, model="gemma-3-270m", max_tokens=24, temperature=0.0,
                         first_token_timeout=120.0, timeout=60.0)
    try:
        brain.load()  # GET /v1/models answers
        began = time.perf_counter()
        arrivals, sentences = [], []
        for sentence in brain.reply(Conversation("llama", persona="You are Ada, a museum guide."),
                                    "Hello! Tell me about the museum."):
            arrivals.append(time.perf_counter() - began)
            sentences.append(sentence)
        assert sentences and all(s.text.strip() for s in sentences)
        assert not any("[" in s.text or "*" in s.text for s in sentences)  # tags are never spoken
        assert all(s.language == "en" for s in sentences)
        assert "Sorry, I can't answer" not in sentences[-1].text  # not the brain's apology for a failure
    finally:
        brain.close()


def test_a_cancel_mid_reply_closes_the_stream_and_the_server_goes_on(server):
    brain = create_brain("openai", base_url=server.url, model="gemma-3-270m", max_tokens=200, temperature=0.8,
                         first_token_timeout=120.0, timeout=60.0)
    try:
        cancel = threading.Event()
        got = []
        began = time.perf_counter()
        for sentence in brain.reply(Conversation("llama"), "Write a long story about a robot.", cancel=cancel):
            got.append(sentence)
            cancel.set()
        assert len(got) == 1 and time.perf_counter() - began < 120
        again = list(brain.reply(Conversation("llama"), "Say hello.", cancel=None))
        assert again  # the server serves the next request after the closed stream
    finally:
        brain.close()


def test_the_folded_prompt_reaches_the_model(server):
    """With the system prompt folded, the tag format is in the prompt the server evaluates: its token
    count (usage.prompt_tokens) includes it; with a system message the template dropped it."""
    import httpx

    def prompt_tokens(messages):
        body = {"model": "gemma-3-270m", "messages": messages, "max_tokens": 1}
        return httpx.post(f"{server.url}/chat/completions", json=body, timeout=120).json()["usage"]["prompt_tokens"]

    bare = prompt_tokens([{"role": "user", "content": "Hi"}])
    with_system = prompt_tokens([{"role": "system", "content": TAG_FORMAT_PROMPT}, {"role": "user", "content": "Hi"}])
    folded = prompt_tokens([{"role": "user", "content": TAG_FORMAT_PROMPT + "\n\nHi"}])
    assert with_system == bare and folded > bare + 50
