"""`visage say`: a real MP4 from text, decoded back; subtitles; the emotion guess; failures leave nothing."""
import json
import re

import av  # the portrait extra, which `make test` installs: missing is a failure, not a skip
import mediapipe  # noqa: F401
import numpy as np
import pytest

from visage.backends.renderers import create_renderer
from visage.backends.tts.narration import narrate, requests_for_text, with_detected_emotion
from visage.cli.main import main
from visage.core.audio import read_wav, rms_envelope
from visage.core.motion.engine import TAIL_SECONDS
from visage.core.sentiment import classify_emotion
from visage.core.types import Emotion, Sentence, SpeechChunk, Word
from visage.offline.say import say_to_files
from visage.offline.subtitles import MAX_LINE_WIDTH, cues_for, width
from visage.offline.video import VideoWriter

TEXT = "I am so happy, this is wonderful! I am sorry, this is terrible news."
FPS = 25
SIZE = 256


@pytest.fixture(scope="module", autouse=True)
def avatar_home(tmp_path_factory):
    """The default avatar is analysed into a temporary store, not the user's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VISAGE_HOME", str(tmp_path_factory.mktemp("home")))
        yield


def decode(path):
    """(video frames as RGB arrays, their times, audio samples from t=0, audio rate, the two streams)."""
    with av.open(str(path)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        info = {"video": v.codec_context.name, "audio": a.codec_context.name, "size": (v.width, v.height),
                "pix_fmt": v.codec_context.pix_fmt, "channels": a.codec_context.channels, "rate": a.rate,
                "duration": c.duration / 1e6}
        frames = [(f.to_ndarray(format="rgb24"), f.time) for f in c.decode(v)]
    with av.open(str(path)) as c:
        audio = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])
    return [f for f, _ in frames], [t for _, t in frames], audio, info


def read_cues(path):
    """[(start, end, text lines)] from an SRT or WebVTT file, read by FFmpeg's own subtitle demuxers."""
    if path.suffix == ".vtt":
        assert path.read_text(encoding="utf-8").startswith("WEBVTT\n\n")
    with av.open(str(path)) as c:
        stream = c.streams[0]
        assert stream.codec_context.name == {".srt": "srt", ".vtt": "webvtt"}[path.suffix]
        return [(float(p.pts * stream.time_base), float((p.pts + p.duration) * stream.time_base),
                 bytes(p).decode("utf-8").split("\n")) for p in c.demux(stream) if p.size]


def envelope_correlation(x, y, rate):
    n = min(len(x), len(y))
    return float(np.corrcoef(rms_envelope(x[:n], rate), rms_envelope(y[:n], rate))[0, 1])


@pytest.fixture(scope="module")
def said(tmp_path_factory):
    """One video made by the command line, with --emotion auto, and the speech it should carry (the
    default voice's: it gives the same audio for the same sentences)."""
    from visage.backends.tts import create_tts

    voice = create_tts("auto")
    voice.load()
    out = tmp_path_factory.mktemp("say") / "out.mp4"
    assert main(["say", TEXT, "-o", str(out), "--size", str(SIZE), "--fps", str(FPS), "--emotion", "auto",
                 "--quiet"]) == 0
    chunks = [i for i in narrate(voice, with_detected_emotion(requests_for_text(TEXT))) if isinstance(i, SpeechChunk)]
    return out, np.concatenate([c.samples for c in chunks]), chunks[0].sample_rate


def test_mp4_has_h264_video_and_aac_audio_of_the_speech(said):
    out, speech, rate = said
    frames, times, audio, info = decode(out)
    assert info["video"] == "h264" and info["audio"] == "aac" and info["channels"] == 1
    assert info["size"] == (SIZE, SIZE) and info["pix_fmt"] == "yuv420p"
    speech_s = len(speech) / rate
    video_s = len(frames) / FPS
    assert TAIL_SECONDS - 1 / FPS <= video_s - speech_s <= TAIL_SECONDS + 1 / FPS  # the face settles after
    assert info["duration"] == pytest.approx(video_s, abs=1.5 / FPS)
    assert np.allclose(times, np.arange(len(frames)) / FPS, atol=1e-3)  # one frame per 1/fps from 0
    assert info["rate"] == rate  # 22.05 kHz is an AAC rate: no resampling
    assert len(audio) >= len(speech)
    assert envelope_correlation(audio, speech, rate) > 0.95  # (the voice varies by a few samples per run)
    assert np.sqrt(np.mean(audio[len(speech) + 2048:] ** 2)) < 1e-3  # the tail is silent
    assert frames[0].std() > 20  # a picture, not a blank frame
    assert not np.array_equal(frames[10], frames[30])  # the face moves


def test_subtitles_and_motion_beside_the_video(said):
    out, _, _ = said
    motion = json.loads(out.with_suffix(".motion.json").read_text())
    sentences = motion["sentences"]
    assert [s["emotion"] for s in sentences] == ["happy", "sad"]  # --emotion auto
    assert len(motion["frames"]) == len(decode(out)[0])
    for path in (out.with_suffix(".srt"), out.with_suffix(".vtt")):
        cues = read_cues(path)
        assert [" ".join(lines) for _, _, lines in cues] == [s["text"] for s in sentences]
        for (start, end, _), s in zip(cues, sentences):
            assert start == pytest.approx(s["start"], abs=1e-3) and end == pytest.approx(s["end"], abs=1e-3)


def test_recorded_speech_path(tmp_path):
    wav = tmp_path / "speech.wav"
    assert main(["speak", "Please bring me the map.", "-o", str(wav), "--quiet"]) == 0
    out = tmp_path / "rec.mp4"
    assert main(["say", "--audio", str(wav), "--text", "Please bring me the map.", "-o", str(out),
                 "--size", str(SIZE), "--quiet"]) == 0
    x, rate = read_wav(wav)
    frames, _, audio, info = decode(out)
    assert info["rate"] == rate
    assert abs(len(frames) / FPS - (len(x) / rate + TAIL_SECONDS)) <= 1 / FPS
    assert envelope_correlation(audio, x, rate) > 0.95
    assert np.corrcoef(audio[:len(x)], x)[0, 1] > 0.95  # sample-aligned: the lips meet the voice on time
    assert [lines for _, _, lines in read_cues(out.with_suffix(".srt"))] == [["Please bring me the map."]]
    words = json.loads(out.with_suffix(".motion.json").read_text())["words"]
    assert [w["text"] for w in words] == ["Please", "bring", "me", "the", "map"]


def test_an_interrupted_render_leaves_nothing(tmp_path, espeak):
    (tmp_path / "keep.txt").write_text("not ours")
    renderer = create_renderer("portrait", size=SIZE)

    def stop(t):
        if t > 0.5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        say_to_files(narrate(espeak, requests_for_text(TEXT)), tmp_path / "x.mp4", renderer, progress=stop)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


@pytest.mark.parametrize("size", ["100", "2000", "511", "big"])
def test_bad_size_is_refused_before_any_work(tmp_path, capsys, size):
    with pytest.raises(SystemExit) as exc:
        main(["say", "hello", "-o", str(tmp_path / "x.mp4"), "--size", size])
    assert exc.value.code == 2 and "--size" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "args,message",
    [
        (["say", "-o", "{dir}/x.mp4"], "give TEXT"),
        (["say", "--audio", "nope.wav", "-o", "{dir}/x.mp4"], "no such audio file"),
        (["say", "hi", "--portrait", "nope.jpg", "-o", "{dir}/x.mp4"], "no such photo"),
        (["say", "hi", "-o", "{dir}/x.avi"], "must be an .mp4"),
    ],
)
def test_say_bad_input(tmp_path, capsys, args, message):
    args = [a.format(dir=tmp_path) for a in args]
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "text,emotion",
    [
        ("I am so happy, this is wonderful!", Emotion.HAPPY),
        ("I am sorry, this is terrible news.", Emotion.SAD),
        ("I hate this, it is unacceptable!", Emotion.ANGRY),
        ("Wow, you did it?!", Emotion.SURPRISED),
        ("I am really scared of the dark.", Emotion.FEARFUL),
        ("The meeting is at three.", Emotion.NEUTRAL),
        ("Do not be afraid.", Emotion.NEUTRAL),
        ("I am not happy about this.", Emotion.SAD),
        ("我今天非常高兴！", Emotion.HAPPY),
        ("我很不高兴。", Emotion.SAD),
        ("太可怕了，我好害怕。", Emotion.FEARFUL),
    ],
)
def test_emotion_guess_for_obvious_sentences(text, emotion):
    assert classify_emotion(text)[0] == emotion


def test_intensifiers_and_exclamations_strengthen_the_guess():
    assert classify_emotion("I am very happy!!")[1] > classify_emotion("I am happy.")[1]


def test_long_and_chinese_sentences_are_split_into_readable_timed_cues():
    text = ("This is a rather long sentence that will certainly need more than two lines of subtitles, "
            "because it keeps going and going until the reader is tired.")
    words = [Word(m.group(), m.start(), m.end(), 1 + i * 0.3, 1.25 + i * 0.3)
             for i, m in enumerate(re.finditer(r"\S+", text))]
    cues = cues_for(Sentence(0, text, 1.0, 1.3 + len(words) * 0.3), words)
    assert len(cues) == 2 and all(len(c.lines) <= 2 and all(len(line) <= MAX_LINE_WIDTH for line in c.lines)
                                  for c in cues)
    assert " ".join(line for c in cues for line in c.lines) == text
    second = cues[1].lines[0].split()[0]
    assert cues[1].start == next(w.start for w in words if w.text == second)  # timed by its first word
    assert cues[0].end == cues[1].start
    zh = "你好，很高兴见到你。今天天气很好，我们一起去公园散步吧，然后再去吃一顿非常好吃的晚饭，好不好？"
    zh_cues = cues_for(Sentence(0, zh, 0.0, 8.0))
    assert "".join(line for c in zh_cues for line in c.lines) == zh
    assert all(width(line) <= MAX_LINE_WIDTH and line[0] not in "，。？" for c in zh_cues for line in c.lines)
    assert zh_cues[-1].end == 8.0 and zh_cues[0].start == 0.0


def test_video_writer_resamples_rates_aac_cannot_carry_and_fills_gaps(tmp_path):
    def tone(rate, seconds):
        return (0.3 * np.sin(2 * np.pi * 330 * np.arange(int(rate * seconds)) / rate)).astype(np.float32)

    with VideoWriter(tmp_path / "t.mp4", 256, 25, 23_000) as video:
        video.write_audio(tone(23_000, 0.5), 0.0)
        video.write_audio(tone(23_000, 0.5), 1.0)  # half a second of silence before it
        video.write_audio(tone(16_000, 0.5), 1.5, 16_000)  # a fallback voice at another rate
        for i in range(50):
            video.write_frame(np.full((256, 256, 3), (200, 30, 30), np.uint8), i / 25)
    frames, _, audio, info = decode(tmp_path / "t.mp4")
    assert info["rate"] == 48_000 and len(frames) == 50
    assert abs(len(audio) / 48_000 - 2.0) < 0.05
    loud = [np.sqrt(np.mean(audio[int(a * 48_000):int(b * 48_000)] ** 2))
            for a, b in ((0.1, 0.4), (0.6, 0.9), (1.1, 1.4), (1.6, 1.9))]
    assert loud[0] > 0.15 and loud[1] < 0.01 and loud[2] > 0.15 and loud[3] > 0.15
    assert np.abs(frames[20][128, 128].astype(int) - (200, 30, 30)).max() <= 6  # colours survive the round trip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.mp4"]


def test_a_photo_is_analysed_for_one_video_and_not_saved(tmp_path):
    from PIL import Image
    from skimage.data import astronaut

    from visage.backends.renderers.avatar_store import AvatarStore

    photo = tmp_path / "me.jpg"
    Image.fromarray(astronaut()).save(photo, quality=90)
    saved = AvatarStore().list()
    out = tmp_path / "me.mp4"
    assert main(["say", "Hi there.", "--portrait", str(photo), "-o", str(out), "--size", str(SIZE), "--quiet"]) == 0
    frames, _, _, _ = decode(out)
    assert frames and frames[0].shape == (SIZE, SIZE, 3)
    assert AvatarStore().list() == saved
