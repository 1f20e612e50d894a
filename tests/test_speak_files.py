"""Text to WAV + timings: the offline voice path and the `visage speak` command."""
import json
import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from visage.backends.tts.narration import requests_for_text
from visage.cli.main import main
from visage.core.audio import read_wav
from visage.core.types import Emotion, SentenceType
from visage.offline.speak import speak_to_files


def test_sentences_share_one_clock(espeak, tmp_path):
    text = "Hello there. How are you today? I am GREAT!"
    summary = speak_to_files(espeak, requests_for_text(text, emphasis=["great"]), tmp_path / "a.wav",
                             tmp_path / "a.json")
    x, rate = read_wav(tmp_path / "a.wav")
    t = json.loads((tmp_path / "a.json").read_text())
    assert t["sample_rate"] == rate == 22050
    assert abs(t["duration"] - len(x) / rate) < 1e-3
    assert abs(summary.duration - len(x) / rate) < 1e-3
    types = [s["type"] for s in t["sentences"]]
    assert types == ["statement", "question", "exclamation"]
    assert [s["start"] for s in t["sentences"]][1:] == [s["end"] for s in t["sentences"]][:-1]
    assert t["sentences"][2]["emphasis"] == ["great"]
    starts = [p["start"] for p in t["phonemes"]]
    assert starts == sorted(starts) and t["phonemes"][-1]["end"] <= t["duration"] + 1e-3
    words = t["words"]
    assert [w["text"] for w in words] == "Hello there How are you today I am GREAT".split()
    assert [w["emphasised"] for w in words][-1] is True
    assert words[3]["start"] >= t["sentences"][1]["start"]  # second sentence's words on the shared clock


def test_long_text_streams_with_bounded_memory(espeak, tmp_path):
    paragraph = ("The quick brown fox jumps over the lazy dog, while the cat watches from the window. "
                 "Then, without warning, it starts to rain! Who could have seen that coming? ")
    text = paragraph * (12_000 // len(paragraph))
    pieces = (text[i : i + 1000] for i in range(0, len(text), 1000))
    tracemalloc.start()
    summary = speak_to_files(espeak, requests_for_text(pieces), tmp_path / "long.wav", tmp_path / "long.json")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    wav_bytes = os.path.getsize(tmp_path / "long.wav")
    assert summary.duration > 600 and wav_bytes > 25e6
    assert peak < 6e6, f"peak Python memory {peak / 1e6:.1f} MB while writing {wav_bytes / 1e6:.0f} MB of audio"
    t = json.loads((tmp_path / "long.json").read_text())
    assert len(t["sentences"]) == summary.sentences > 100


def test_failure_leaves_no_half_written_files(espeak, tmp_path):
    def requests():
        yield from requests_for_text("This first sentence is fine.")
        raise RuntimeError("the text source broke")

    with pytest.raises(RuntimeError):
        speak_to_files(espeak, requests(), tmp_path / "x.wav", tmp_path / "x.json")
    assert os.listdir(tmp_path) == []


def test_emphasis_and_types_follow_each_sentence():
    reqs = list(requests_for_text("I never did. Did you never? 我真的不知道！", emphasis=["never", "真的"],
                                  emotion=Emotion.SAD))
    assert [r.sentence_type for r in reqs] == [SentenceType.STATEMENT, SentenceType.QUESTION, SentenceType.EXCLAMATION]
    assert [r.emphasis for r in reqs] == [("never",), ("never",), ("真的",)]
    assert all(r.emotion == Emotion.SAD for r in reqs)


def test_cli_speak_writes_wav_and_timings(tmp_path, capsys):
    out, timings = tmp_path / "hi.wav", tmp_path / "hi.json"
    code = main(["speak", "Hello! Nice to meet you.", "-o", str(out), "--emotion", "happy", "--intensity", "0.8",
                 "--timings", str(timings), "--emphasis", "nice"])
    assert code == 0
    assert "wrote" in capsys.readouterr().out
    t = json.loads(timings.read_text())
    assert {"sample_rate", "phonemes", "words"} <= set(t)
    assert set(t["phonemes"][0]) >= {"symbol", "start", "end"} and set(t["words"][0]) >= {"text", "start", "end"}
    x, rate = read_wav(out)
    assert abs(len(x) / rate - t["duration"]) < 1e-3
    assert np.abs(x).max() > 0.1


@pytest.mark.parametrize(
    "args,message",
    [
        (["speak", "   ", "-o", "X"], "nothing to say"),
        (["speak", "hi", "--lang", "xx", "-o", "X"], "unknown language 'xx'"),
        (["speak", "hi", "--voice", "bob", "-o", "X"], "unknown voice 'bob'"),
        (["speak", "hi", "--tts", "nope", "-o", "X"], "unknown voice backend 'nope'"),
    ],
)
def test_cli_bad_input_is_a_clear_error(tmp_path, capsys, args, message):
    args = [a.replace("X", str(tmp_path / "o.wav")) for a in args]
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_console_script_help_teaches():
    result = subprocess.run([sys.executable, "-m", "visage.cli.main", "speak", "--help"], capture_output=True,
                            text=True, check=True)
    assert "examples:" in result.stdout and "--emotion" in result.stdout and "--timings" in result.stdout


def test_cli_reads_standard_input(tmp_path):
    out = tmp_path / "stdin.wav"
    result = subprocess.run([sys.executable, "-m", "visage.cli.main", "speak", "-", "-o", str(out), "--quiet"],
                            input="Text from a pipe. 第二句。", capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 20_000
