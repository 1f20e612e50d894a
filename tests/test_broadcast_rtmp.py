"""`visage broadcast` against a real RTMP server (nginx-rtmp on 127.0.0.1, started here): the received
stream decodes, plays at the right rate, its mouth follows its voice, a question is answered while it
runs, and it survives the server going away and coming back."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from rtmp_server import RtmpServer, free_port, nginx_missing

FPS, SIZE = 25, 256
SCRIPT = ("Hello and welcome to the morning show.\n"
          "Today we look at a kettle that boils a litre of water in one minute!\n"
          "It is made of steel, and it costs twenty nine euros.\n")


@pytest.fixture
def server(tmp_path):
    why = nginx_missing()
    if why:  # a missing system package is a failure, not a skip: scripts/system_deps.sh installs it
        pytest.fail(why)
    rtmp = RtmpServer(tmp_path / "nginx").start()
    yield rtmp
    rtmp.stop()


def start_broadcast(tmp_path: Path, url: str, *flags: str) -> tuple[subprocess.Popen, Path]:
    script = tmp_path / "script.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    log = tmp_path / "stderr.txt"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    process = subprocess.Popen([sys.executable, "-m", "visage.cli.main", "broadcast", "--rtmp", url, "--script",
                                str(script), "--size", str(SIZE), "--fps", str(FPS), *flags],
                               stdout=subprocess.DEVNULL, stderr=log.open("w"), env=env)
    return process, log


def wait_for(log: Path, text: str, process: subprocess.Popen, timeout: float = 60.0, count: int = 1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.read_text().count(text) >= count:
            return
        assert process.poll() is None, f"the broadcast ended early:\n{log.read_text()}"
        time.sleep(0.1)
    raise AssertionError(f"no {text!r} within {timeout} s:\n{log.read_text()}")


def read_recording(path: Path) -> dict:
    """Video frames with their times, and the audio (first channel) placed at its times."""
    import av

    with av.open(str(path)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        info = {"rate": a.codec_context.sample_rate, "channels": a.codec_context.channels,
                "width": v.codec_context.width, "height": v.codec_context.height}
        frames, times, pieces = [], [], []
        for packet in c.demux(v, a):
            for frame in packet.decode():
                if packet.stream.type == "video":
                    frames.append(frame.to_ndarray(format="rgb24"))
                    times.append(float(frame.pts * frame.time_base))
                else:
                    pieces.append((float(frame.pts * frame.time_base), frame.to_ndarray()[0]))
    rate = info["rate"]
    audio = np.zeros(round(max(t for t, _ in pieces) * rate) + max(len(p) for _, p in pieces), np.float32)
    for t, p in pieces:
        audio[round(t * rate):round(t * rate) + len(p)] = p
    return {**info, "frames": frames, "times": np.array(times), "audio": audio}


def check_stream(rec: dict, min_seconds: float) -> None:
    """Decodes, constant 25 fps (every step one frame), 48 kHz stereo, audio as long as the video."""
    times = rec["times"]
    assert rec["width"] == rec["height"] == SIZE and rec["rate"] == 48000 and rec["channels"] == 2
    assert len(times) >= min_seconds * FPS, f"only {len(times)} frames"
    steps = np.diff(times)
    assert np.all(np.abs(steps - 1 / FPS) <= 0.0015), f"frame steps {sorted(set(np.round(steps, 3)))}"  # FLV: ms
    video_seconds = times[-1] - times[0] + 1 / FPS
    assert (len(times) / video_seconds) == pytest.approx(FPS, abs=0.05)
    assert abs(len(rec["audio"]) / rec["rate"] - (times[-1] + 1 / FPS)) < 2 / FPS + 0.05  # AAC ends in whole frames


def mouth_follows_voice(rec: dict) -> tuple[float, int]:
    """Correlation of the mouth's opening (MediaPipe's inner-lip landmarks over the face height) with
    the audio's loudness per frame, at the best lag (frames, + when the mouth comes later)."""
    from visage.backends.vision.face_mesh import FaceMeshDetector, face_height

    rate, audio = rec["rate"], rec["audio"]
    opening, loudness = [], []
    with FaceMeshDetector(static=False) as mesh:
        for image, t in zip(rec["frames"], rec["times"]):
            faces = mesh.detect(image, max_faces=1)
            window = audio[round(t * rate):round((t + 1 / FPS) * rate)]
            if not faces or not len(window):
                continue
            opening.append(np.linalg.norm(faces[0][13, :2] - faces[0][14, :2]) / face_height(faces[0]))
            loudness.append(np.sqrt(np.mean(window ** 2)))
    opening, loudness = np.array(opening), np.array(loudness)
    assert len(opening) > 0.9 * len(rec["frames"]), "the face was not found in most frames"
    scores = {}
    for lag in range(-6, 7):
        o, e = (opening[lag:], loudness[:len(loudness) - lag]) if lag >= 0 else (opening[:lag], loudness[-lag:])
        scores[lag] = float(np.corrcoef(o, e)[0, 1])
    best = max(scores, key=scores.get)
    return scores[best], best


def test_stream_decodes_at_rate_with_the_mouth_following_the_voice_and_answers_a_question(server, tmp_path):
    port = free_port()
    process, log = start_broadcast(tmp_path, server.url("show"), "--control", f"127.0.0.1:{port}",
                                   "--duration", "20", "--pause", "0.6")
    try:
        wait_for(log, "streaming to", process)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/ask", data=b'{"text": "What can you do?"}',
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as r:
            assert r.status == 202
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=10) as r:
            status = json.loads(r.read())
        assert status["connected"] and status["connections"] == 1
        assert process.wait(90) == 0, log.read_text()
    finally:
        process.kill()
    text = log.read_text()
    assert "ask: " in text and "script: Hello and welcome" in text, text
    assert "rtmp://127.0.0.1" in text and "/live/show" not in text  # the stream key stays out of logs
    time.sleep(0.5)
    records = server.recordings()
    assert len(records) == 1
    rec = read_recording(records[0])
    check_stream(rec, min_seconds=12)
    correlation, lag = mouth_follows_voice(rec)
    print(f"mouth/voice correlation {correlation:.2f} at lag {lag} frames")
    assert correlation > 0.5 and abs(lag) <= 2


def test_reconnects_when_the_server_goes_away_and_comes_back(server, tmp_path):
    process, log = start_broadcast(tmp_path, server.url("show"), "--loop", "--duration", "24", "--pause", "0.5")
    try:
        wait_for(log, "script:", process)
        time.sleep(4)
        server.stop()
        wait_for(log, "lost the connection", process, timeout=20)
        time.sleep(2.5)
        server.start()
        wait_for(log, "reconnected to", process, timeout=30)
        assert process.wait(90) == 0, log.read_text()
    finally:
        process.kill()
        server.start() if server.process is None else None
    text = log.read_text()
    assert "retrying in" in text or "reconnecting in" in text
    time.sleep(0.5)
    server.stop()
    first, second = server.recordings()[-2:]
    before, after = read_recording(first), read_recording(second)
    check_stream(before, min_seconds=3)
    check_stream(after, min_seconds=5)
    assert after["times"][0] < 2 / FPS  # a new publish session starts its clock afresh (AAC priming aside)
    loud = [np.sqrt(np.mean(after["audio"][i:i + 4800] ** 2)) for i in range(0, len(after["audio"]), 4800)]
    assert max(loud) > 0.02, "the script did not go on after the reconnection"
