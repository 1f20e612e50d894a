"""The broadcast's parts without a server: the sample clock over an hour, lines, the control endpoint."""
from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from visage.config import build_voice
from visage.config.settings import VoiceSettings
from visage.core.motion.engine import MotionEngine
from visage.errors import InputError
from visage.live.broadcast.control import ControlServer, parse_address, read_stdin_lines
from visage.live.broadcast.host import line_speaker
from visage.live.broadcast.lines import MAX_CHARS, LineQueue, LineRequest, QueueFull, Script, Speaker, check_line
from visage.live.broadcast.rtmp import check_url, redact
from visage.live.broadcast.timeline import AUDIO_RATE, Timeline, Utterance
from visage.backends.tts.narration import requests_for_text


@pytest.fixture(scope="module")
def speak():
    voice = build_voice(VoiceSettings())
    voice.load()
    return line_speaker(voice, None, lambda text: requests_for_text(text, language="en"))


@pytest.mark.parametrize("minutes", [10, pytest.param(60, marks=pytest.mark.slow)])
def test_an_hour_of_ticks_keeps_audio_and_video_on_one_clock(speak, minutes):
    """An hour (90,000 frames at 25 fps; 10 minutes in the quick run, ~0.8 ms a frame) with a line
    every ~10 s: every frame's time is its index / fps, every audio block is exactly rate / fps
    samples, and each line starts on a frame boundary of the sample clock."""
    fps, hour = 25, 60 * minutes
    timeline = Timeline(MotionEngine(fps=fps))
    line = speak(LineRequest("Welcome to the channel, everyone.", "script"))
    audio_samples = 0
    starts = []
    for _ in range(fps * hour):
        if not timeline.speaking and timeline.silent_for >= 8.0:
            starts.append((timeline.index, timeline.start(line)))
        tick = timeline.tick()
        assert len(tick.samples) == AUDIO_RATE // fps
        audio_samples += len(tick.samples)
        if tick.index % 9000 == 0 or tick.index == fps * hour - 1:
            assert tick.face.t == pytest.approx(tick.index / fps, abs=1e-9)
    assert timeline.index == fps * hour and audio_samples == AUDIO_RATE * hour
    assert abs(audio_samples / AUDIO_RATE - timeline.index / fps) < 1 / fps  # the bound; it is 0 here
    assert len(starts) > 5 * minutes
    assert all(at == index / fps for index, at in starts)  # lines start on frame boundaries of the sample clock


def test_speech_is_placed_at_the_sample_clock(speak):
    timeline = Timeline(MotionEngine(fps=25))
    for _ in range(10):
        assert not timeline.tick().samples.any()  # idle: silence
    line = speak(LineRequest("Hello there.", "say"))
    assert timeline.start(line) == 0.4
    audio = np.concatenate([timeline.tick().samples for _ in range(int(line.duration * 25) + 5)])
    assert np.array_equal(audio[:len(line.samples)], line.samples)
    assert not audio[len(line.samples):].any() and not timeline.speaking


def test_utterance_collects_the_voice_at_48k(speak):
    u = speak(LineRequest("One, two, three.", "say"))
    assert 0.5 < u.duration < 5 and u.samples.dtype == np.float32 and np.abs(u.samples).max() > 0.05
    assert Utterance.from_stream("x", "say", []).duration == 0


def test_frame_rate_must_divide_the_audio_rate():
    with pytest.raises(ValueError, match="multiple"):
        Timeline(MotionEngine(fps=30), rate=44100 + 1)


def test_script_lines_loop_and_comments(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("# a comment\nFirst line.\n\n  Second line.  \n", encoding="utf-8")
    once, looped = Script(path), Script(path, loop=True)
    assert [once.next(), once.next(), once.next()] == ["First line.", "Second line.", None] and once.finished
    assert [looped.next() for _ in range(5)] == ["First line.", "Second line."] * 2 + ["First line."]
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    with pytest.raises(InputError, match="no lines"):
        Script(tmp_path / "empty.txt")
    with pytest.raises(InputError, match="cannot read"):
        Script(tmp_path / "missing.txt")


def test_bad_lines_and_a_full_queue_are_refused_clearly():
    for text, reason in [("", "no text"), (None, "no text"), ("x" * (MAX_CHARS + 1), "characters"),
                         ("a\0b", "binary")]:
        with pytest.raises(InputError, match=reason):
            check_line(text, "say")
    with pytest.raises(InputError, match="unknown kind"):
        check_line("hi", "shout")
    queue = LineQueue(limit=2)
    assert queue.put(check_line("a", "say")) == 1 and queue.put(check_line("b", "ask")) == 2
    with pytest.raises(QueueFull):
        queue.put(check_line("c", "say"))
    assert queue.get().text == "a" and len(queue) == 1


def test_urls_and_addresses():
    assert check_url("rtmp://127.0.0.1:1935/live/key") and check_url("rtmps://live.example.com/app/k")
    for bad in ("http://x/live/k", "rtmp://", "live/key", ""):
        with pytest.raises(InputError, match="RTMP URL"):
            check_url(bad)
    assert redact("rtmp://a.rtmp.youtube.com/live2/secret-key") == "rtmp://a.rtmp.youtube.com/live2/***"
    assert parse_address("127.0.0.1:8765") == ("127.0.0.1", 8765) and parse_address("[::1]:9")[0] == "::1"
    assert parse_address("localhost:80") == ("127.0.0.1", 80)
    for bad, reason in [("0.0.0.0:8765", "loopback"), ("192.168.1.2:80", "loopback"), ("127.0.0.1", "HOST:PORT"),
                        ("127.0.0.1:99999", "HOST:PORT")]:
        with pytest.raises(InputError, match=reason):
            parse_address(bad)


def _post(port: int, path: str, body: bytes, content_type: str = "application/json"):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST",
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_control_endpoint_queues_lines_and_refuses_bad_ones():
    queue = LineQueue(limit=3)
    server = ControlServer(("127.0.0.1", 0), queue, lambda: {"connected": True, "queued": len(queue)}).start()
    try:
        port = server.port
        assert _post(port, "/say", b'{"text": "Welcome!"}') == (202, {"queued": 1, "kind": "say", "text": "Welcome!"})
        assert _post(port, "/ask", "价格是多少？".encode(), "text/plain; charset=utf-8")[0] == 202
        status, body = _post(port, "/say", b'{"text": ')
        assert status == 400 and "not valid JSON" in body["error"]
        assert _post(port, "/say", b'{"words": "x"}')[0] == 400
        assert _post(port, "/say", b'{"text": "   "}')[0] == 400
        assert _post(port, "/shout", b'{"text": "x"}')[0] == 404
        assert _post(port, "/say", json.dumps({"text": "y" * 9000}).encode())[0] == 413
        assert _post(port, "/say", b'{"text": "third"}')[0] == 202
        status, body = _post(port, "/say", b'{"text": "fourth"}')
        assert status == 429 and "already waiting" in body["error"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=5) as r:
            assert json.loads(r.read()) == {"connected": True, "queued": 3}
        assert [queue.get().text for _ in range(3)] == ["Welcome!", "价格是多少？", "third"]
    finally:
        server.close()


def test_stdin_lines_say_and_ask():
    queue, said = LineQueue(), []
    read_stdin_lines(queue, said.append, io.StringIO("Hello everyone\n\n/ask What is this?\n/say \n/say Bye\n")).join(5)
    got = [queue.get() for _ in range(3)]
    assert [(r.kind, r.text) for r in got] == [("say", "Hello everyone"), ("ask", "What is this?"), ("say", "Bye")]
    assert any("not queued" in s for s in said)


def test_speaker_puts_sent_lines_before_the_script_and_survives_a_failing_line(tmp_path, speak):
    path = tmp_path / "s.txt"
    path.write_text("Script one.\nScript two.\n")
    queue, said = LineQueue(), []

    def speak_or_fail(request):
        if "fail" in request.text:
            raise RuntimeError("the voice broke")
        return speak(request)

    queue.put(check_line("please fail", "say"))
    queue.put(check_line("Sent line.", "say"))
    speaker = Speaker(speak_or_fail, queue, Script(path), say=said.append).start()
    order = []
    deadline = time.monotonic() + 30
    while len(order) < 3 and time.monotonic() < deadline:
        if (u := speaker.take()) is not None:
            order.append(u.text)
        time.sleep(0.01)
    speaker.stop()
    assert order == ["Sent line.", "Script one.", "Script two."]
    assert speaker.failed == 1 and "the voice broke" in said[0] and speaker.exhausted


@pytest.mark.parametrize("seconds", [30, pytest.param(600, marks=pytest.mark.slow)])
def test_through_the_encoder_and_muxer_the_clocks_still_agree(tmp_path, seconds):
    """The whole host as fast as it goes (no sleeping to the wall clock) into an FLV file: the last
    audio and video timestamps agree within a frame, and there is one frame per 1/fps."""
    import av

    from visage.config.builders import build_renderer
    from visage.config.settings import VideoSettings
    from visage.live.broadcast.host import BroadcastHost
    from visage.live.broadcast.rtmp import RtmpSender, StreamFormat

    script = tmp_path / "script.txt"
    script.write_text("Welcome back to the channel.\nHere is today's offer, at half the price!\n")
    voice = build_voice(VoiceSettings())
    voice.load()
    speak = line_speaker(voice, None, lambda text: requests_for_text(text, language="en"))
    renderer = build_renderer(VideoSettings(size=256))
    renderer.load()
    out = tmp_path / "stream.flv"
    sender = RtmpSender(str(out), StreamFormat(256, 25, AUDIO_RATE), say=lambda m: None).start()
    speaker = Speaker(speak, LineQueue(), Script(script, loop=True), say=lambda m: None).start()
    host = BroadcastHost(Timeline(MotionEngine(fps=25)), renderer, sender, speaker, pause=0.5, realtime=False,
                         say=lambda m: None)
    summary = host.run(duration=seconds)
    speaker.stop()
    sender.close()
    assert summary.frames == 25 * seconds and sender.frames_sent == summary.frames and summary.lines >= seconds // 6
    starts, ends, counts = {}, {}, {}
    with av.open(str(out)) as c:
        for packet in c.demux():
            if packet.pts is not None:
                kind, t = packet.stream.type, float(packet.pts * packet.time_base)
                starts[kind] = min(starts.get(kind, t), t)
                ends[kind] = max(ends.get(kind, 0.0), t + float(packet.duration * packet.time_base))
                counts[kind] = counts.get(kind, 0) + 1
    assert counts["video"] == 25 * seconds
    # the muxer shifts both tracks by the AAC encoder's priming (1024 samples, 21 ms) so none starts below 0
    assert starts["video"] == pytest.approx(1024 / AUDIO_RATE, abs=0.001) and starts["audio"] == 0
    assert ends["video"] - starts["video"] == pytest.approx(seconds, abs=0.002)
    assert abs(ends["audio"] - ends["video"]) < 1 / 25, (starts, ends)
