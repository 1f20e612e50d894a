"""`visage animate` and the motion files: what a game engine or 3D client receives."""
import json

import numpy as np
import pytest

from visage.cli.main import main
from visage.core.arkit import BLENDSHAPE_NAMES
from visage.core.audio import read_wav
from visage.offline.plot import read_motion


def test_motion_json_has_the_documented_shape(tmp_path, capsys):
    out, wav = tmp_path / "m.json", tmp_path / "m.wav"
    assert main(["animate", "Hello! Did you sleep well? I REALLY hope so.", "--emphasis", "really",
                 "--emotion", "happy", "-o", str(out), "--wav", str(wav), "--fps", "30"]) == 0
    m = json.loads(out.read_text())
    assert m["fps"] == 30 and m["blendshape_names"] == list(BLENDSHAPE_NAMES)
    frame = m["frames"][0]
    assert set(frame) == {"t", "blendshapes", "head", "gaze"} and len(frame["blendshapes"]) == 52
    assert set(frame["head"]) == {"pitch", "yaw", "roll", "x", "y", "z"} and set(frame["gaze"]) == {"yaw", "pitch"}
    times = [f["t"] for f in m["frames"]]
    assert np.allclose(np.diff(times), 1 / 30, atol=1e-3)
    x, rate = read_wav(wav)
    assert times[-1] >= len(x) / rate  # frames cover the whole speech (and the face settling after it)
    assert {"symbol", "start", "end", "viseme"} <= set(m["phonemes"][0])
    assert [s["type"] for s in m["sentences"]] == ["exclamation", "question", "statement"]
    assert any(w["emphasised"] and w["text"] == "REALLY" for w in m["words"])
    assert "wrote" in capsys.readouterr().out


def test_jsonl_streams_records_and_plot_draws_it(tmp_path):
    out, png = tmp_path / "m.jsonl", tmp_path / "m.png"
    assert main(["animate", "你好，很高兴见到你。", "--lang", "zh", "-o", str(out), "--plot", str(png),
                 "--quiet"]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0]["kind"] == "header" and len(lines[0]["blendshape_names"]) == 52
    kinds = {line["kind"] for line in lines}
    assert kinds == {"header", "frame", "phoneme", "word", "sentence"}
    assert read_motion(out)["frames"][5]["t"] == pytest.approx(0.2)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_recorded_speech_is_animated_through_the_aligner(tmp_path):
    wav = tmp_path / "speech.wav"
    assert main(["speak", "Please bring me the map.", "-o", str(wav), "--voice", "female3", "--quiet"]) == 0
    out = tmp_path / "rec.json"
    assert main(["animate", "--audio", str(wav), "--text", "Please bring me the map.", "-o", str(out),
                 "--quiet"]) == 0
    m = json.loads(out.read_text())
    assert [w["text"] for w in m["words"]] == ["Please", "bring", "me", "the", "map"]
    # the lips close for the bilabials the aligner found
    names = m["blendshape_names"]
    for p in (p for p in m["phonemes"] if p["viseme"] == "PP"):
        frame = m["frames"][round((p["start"] + p["end"]) / 2 * m["fps"])]
        assert frame["blendshapes"][names.index("jawOpen")] < 0.1


@pytest.mark.parametrize(
    "args,message",
    [
        (["animate", "-o", "X"], "give TEXT"),
        (["animate", "--audio", "nope.wav", "-o", "X"], "no such audio file"),
        (["animate", "hi", "--style", "wild", "-o", "X"], "unknown style 'wild'"),
    ],
)
def test_animate_bad_input(tmp_path, capsys, args, message):
    args = [a.replace("X", str(tmp_path / "m.json")) for a in args]
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_broken_audio_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    assert main(["animate", "--audio", str(bad), "--text", "hello", "-o", str(tmp_path / "m.json")]) == 2
    assert "WAV" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.wav"]


def test_emotion_auto_tags_each_sentence_from_its_words(tmp_path):
    out = tmp_path / "auto.json"
    assert main(["animate", "I am so happy, this is wonderful! I am sorry, this is terrible news.",
                 "--emotion", "auto", "-o", str(out), "--quiet"]) == 0
    m = json.loads(out.read_text())
    assert [s["emotion"] for s in m["sentences"]] == ["happy", "sad"]
    assert oct(out.stat().st_mode & 0o777) != oct(0o600)  # an ordinary file, not a private temp file
