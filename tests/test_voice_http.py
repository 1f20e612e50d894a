"""HTTP voices against real local servers that answer with real speech (tests/voice_servers.py).

Every adapter is run through the same script: a normal reply becomes timed audio, and each way a
server fails (error, too slow, cut off, not audio, not running) becomes a BackendError that says
what to do. Timings come from the real default aligner.
"""
from __future__ import annotations

import logging
import time

import numpy as np
import pytest

from conftest import speak
from visage.backends.tts import create_tts
from visage.backends.tts.base import TTSBackend
from visage.backends.tts.fallback import FallbackTTS, with_fallback
from visage.core.audio import encode_wav
from visage.core.types import Emotion, SpeechChunk, SpeechRequest
from visage.errors import BackendError, InputError
from voice_servers import ERROR_TEXT, LocalVoiceServer, closed_port_url, speech

SENTENCE = "The quick brown fox jumps over the lazy dog."
WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"]
PROMPT_TEXT = "This is how my voice sounds."
APIS = ["openai", "gpt-sovits", "cosyvoice"]


@pytest.fixture(scope="module")
def prompt_wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("voice") / "reference.wav"
    path.write_bytes(encode_wav(speech(PROMPT_TEXT, 16000), 16000))
    return str(path)


@pytest.fixture
def make_voice(prompt_wav):
    """Build the adapter for `api` pointed at `url`, with the options each one needs."""
    made = []

    def make(api: str, url: str, **options):
        if api == "openai":
            tts = create_tts("openai", base_url=url + "/v1", api_key="sk-test", **options)
        elif api == "gpt-sovits":
            tts = create_tts("gpt-sovits", base_url=url, ref_audio_path="/voices/ref.wav", prompt_text=PROMPT_TEXT,
                             prompt_lang="en", **options)
        else:
            options.setdefault("prompt_wav", prompt_wav)
            options.setdefault("prompt_text", PROMPT_TEXT if options["prompt_wav"] else None)
            tts = create_tts("cosyvoice", base_url=url, **options)
        made.append(tts)
        return tts

    yield make
    for tts in made:
        tts.server.close()


def check_timed_speech(samples, rate, words, expected_rate):
    assert rate == expected_rate
    duration = len(samples) / rate
    assert 1.0 < duration < 6.0, duration
    assert float(np.sqrt(np.mean(samples**2))) > 0.01  # speech, not silence
    texts = [w.text.lower() for w in words]
    assert texts == WORDS
    starts = [w.start for w in words]
    assert starts == sorted(starts)
    for w in words:
        assert 0.0 <= w.start <= w.end <= duration + 1e-6


# -- normal replies -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "api, options, rate",
    [
        ("openai", {}, 24000),
        ("openai", {"response_format": "pcm"}, 24000),
        ("gpt-sovits", {}, 32000),
        ("cosyvoice", {}, 22050),
        ("cosyvoice", {"prompt_wav": None, "method": "POST"}, 22050),
    ],
    ids=["openai-wav", "openai-pcm", "gpt-sovits", "cosyvoice-zero-shot", "cosyvoice-sft"],
)
def test_reply_becomes_timed_speech(make_voice, api, options, rate):
    with LocalVoiceServer(api) as server:
        tts = make_voice(api, server.url, **options)
        samples, got_rate, _phonemes, words = speak(tts, SpeechRequest(SENTENCE))
    check_timed_speech(samples, got_rate, words, rate)
    assert len(server.requests) == 1


def test_openai_sends_the_api_fields(make_voice):
    with LocalVoiceServer("openai") as server:
        sad = SpeechRequest(SENTENCE, emotion=Emotion.SAD, intensity=1.0)
        speak(make_voice("openai", server.url, voice="nova"), sad)
        speak(make_voice("openai", server.url, model="tts-1"), SpeechRequest(SENTENCE))
    sad, plain = server.requests
    assert (sad.method, sad.path) == ("POST", "/v1/audio/speech")
    assert sad.headers["authorization"] == "Bearer sk-test"
    assert sad.json["model"] == "gpt-4o-mini-tts" and sad.json["voice"] == "nova"
    assert sad.json["input"] == SENTENCE and sad.json["response_format"] == "wav"
    assert sad.json["speed"] < 0.9  # sadness is slower
    assert "sad" in sad.json["instructions"]
    assert plain.json["model"] == "tts-1"
    assert "instructions" not in plain.json and "speed" not in plain.json  # tts-1 takes no instructions


def test_gpt_sovits_sends_the_api_v2_fields(make_voice):
    with LocalVoiceServer("gpt-sovits") as server:
        speak(make_voice("gpt-sovits", server.url), SpeechRequest(SENTENCE, emotion=Emotion.HAPPY, intensity=1.0))
    (req,) = server.requests
    assert (req.method, req.path) == ("POST", "/tts")
    body = req.json
    assert body["text"] == SENTENCE and body["text_lang"] == "en"
    assert body["ref_audio_path"] == "/voices/ref.wav" and body["prompt_text"] == PROMPT_TEXT
    assert body["prompt_lang"] == "en" and body["media_type"] == "wav" and body["streaming_mode"] is False
    assert body["speed_factor"] > 1.05  # happiness is faster


def test_cosyvoice_sends_form_fields_and_the_reference(make_voice, prompt_wav):
    with LocalVoiceServer("cosyvoice") as server:
        speak(make_voice("cosyvoice", server.url), SpeechRequest(SENTENCE))
        speak(make_voice("cosyvoice", server.url, prompt_wav=None), SpeechRequest(SENTENCE))
    zero_shot, sft = server.requests
    assert (zero_shot.method, zero_shot.path) == ("GET", "/inference_zero_shot")
    assert zero_shot.form == {"tts_text": SENTENCE, "prompt_text": PROMPT_TEXT}
    with open(prompt_wav, "rb") as f:
        assert zero_shot.files["prompt_wav"] == f.read()
    assert sft.path == "/inference_sft" and sft.form == {"tts_text": SENTENCE, "spk_id": "英文女"}


def test_cosyvoice_sample_rate_from_option_or_header(make_voice):
    with LocalVoiceServer("cosyvoice", pcm_rate=24000) as server:
        samples, rate, _, _ = speak(make_voice("cosyvoice", server.url, sample_rate=24000), SpeechRequest(SENTENCE))
    with LocalVoiceServer("cosyvoice", pcm_rate=24000, announce_rate=True) as server:
        samples2, rate2, _, _ = speak(make_voice("cosyvoice", server.url), SpeechRequest(SENTENCE))
    assert rate == rate2 == 24000
    assert abs(len(samples) - len(samples2)) < 0.01 * len(samples)  # espeak's runs differ by a few samples


# -- failures ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("api", APIS)
def test_server_error_gives_status_and_server_text(make_voice, api):
    with LocalVoiceServer(api, mode="error") as server:
        with pytest.raises(BackendError) as err:
            speak(make_voice(api, server.url), SpeechRequest(SENTENCE))
    assert "500" in str(err.value) and ERROR_TEXT in str(err.value)


@pytest.mark.parametrize("api", APIS)
def test_slow_server_times_out(make_voice, api):
    with LocalVoiceServer(api, mode="slow", slow_seconds=10) as server:
        tts = make_voice(api, server.url, timeout=1.0)
        began = time.monotonic()
        with pytest.raises(BackendError, match="timed out") as err:
            speak(tts, SpeechRequest(SENTENCE))
        elapsed = time.monotonic() - began
    assert "1 s" in str(err.value)
    assert 0.9 <= elapsed < 2.0


@pytest.mark.parametrize("api, mode", [(a, "cutoff") for a in APIS] + [("cosyvoice", "cutoff_chunked")])
def test_cut_off_audio_is_an_error(make_voice, api, mode):
    with LocalVoiceServer(api, mode=mode) as server:
        with pytest.raises(BackendError, match="cut off"):
            speak(make_voice(api, server.url), SpeechRequest(SENTENCE))


@pytest.mark.parametrize("api", APIS)
def test_reply_that_is_not_audio_is_an_error(make_voice, api):
    with LocalVoiceServer(api, mode="not_audio") as server:
        with pytest.raises(BackendError, match="invalid"):
            speak(make_voice(api, server.url), SpeechRequest(SENTENCE))


@pytest.mark.parametrize("api", APIS)
def test_server_down_says_to_start_it(make_voice, api):
    with pytest.raises(BackendError) as err:
        speak(make_voice(api, closed_port_url()), SpeechRequest(SENTENCE))
    message = str(err.value)
    assert "is the server running?" in message and "start it with" in message


def test_missing_options_are_input_errors(monkeypatch, prompt_wav):
    with pytest.raises(InputError, match="ref_audio_path"):
        create_tts("gpt-sovits", prompt_text=PROMPT_TEXT)
    with pytest.raises(InputError, match="prompt_text"):
        create_tts("gpt-sovits", ref_audio_path="/voices/ref.wav")
    with pytest.raises(InputError, match="prompt_text"):
        create_tts("cosyvoice", prompt_wav=prompt_wav)
    with pytest.raises(InputError, match="does not exist"):
        create_tts("cosyvoice", prompt_wav="/no/such/ref.wav", prompt_text=PROMPT_TEXT).synthesize(SpeechRequest("Hi."))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(InputError, match="OPENAI_API_KEY"):
        create_tts("openai")


def test_options_given_as_text_like_the_command_line(make_voice):
    with LocalVoiceServer("openai") as server:
        tts = make_voice("openai", server.url, timeout="5", instructions="false", response_format="pcm")
        samples, rate = tts.synthesize(SpeechRequest(SENTENCE))
    assert rate == 24000 and len(samples) / rate > 1.0
    assert "instructions" not in server.requests[0].json
    with LocalVoiceServer("cosyvoice", pcm_rate=24000) as server:
        assert make_voice("cosyvoice", server.url, sample_rate="24000").synthesize(SpeechRequest(SENTENCE))[1] == 24000
    tuned = create_tts("gpt-sovits", ref_audio_path="r.wav", prompt_text="hi", params='{"top_k": 5}')
    assert tuned.request_body(SpeechRequest(SENTENCE))["top_k"] == 5
    with pytest.raises(InputError, match="unknown option.*bogus"):
        create_tts("cosyvoice", bogus="1")
    with pytest.raises(InputError, match="timeout must be a positive number"):
        create_tts("gpt-sovits", ref_audio_path="r.wav", prompt_text="hi", timeout="soon")


# -- fallback ---------------------------------------------------------------------------------------
def test_fallback_keeps_speaking_when_the_server_is_down(make_voice, caplog):
    voice = with_fallback(make_voice("gpt-sovits", closed_port_url()))
    with caplog.at_level(logging.WARNING, logger="visage.backends.tts.fallback"):
        samples, rate, _, words = speak(voice, SpeechRequest(SENTENCE, voice="my-clone"))
    assert len(samples) / rate > 1.0
    assert [w.text.lower() for w in words] == WORDS
    assert any("is the server running?" in r.getMessage() for r in caplog.records)


class _FailsMidSentence(TTSBackend):
    """A voice that sends some audio and then breaks: the fallback must not paper over it."""

    name = "breaks"

    def stream(self, request):
        yield SpeechChunk(np.full(800, 0.1, np.float32), 16000, 0.0)
        raise BackendError("lost the connection mid-sentence")


def test_fallback_reraises_after_audio_was_sent(espeak):
    voice = FallbackTTS(_FailsMidSentence(), espeak)
    chunks = voice.stream(SpeechRequest(SENTENCE))
    assert len(next(chunks).samples) == 800
    with pytest.raises(BackendError, match="mid-sentence"):
        next(chunks)
