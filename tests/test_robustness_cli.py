"""Robustness battery, CLI half: bad input as a careless or hostile user gives it to the real `visage`
command (a subprocess, as a user runs it). Each case must end with its exit code, a readable message (no
traceback), and nothing left in its folder but what was there before: no output, no hidden `.part`.

All cases run at once (a few processes in parallel) in one module fixture, then each is its own test, so
the battery stays fast while every case still passes or fails on its own. The server half of the battery
lives beside it (tests/test_robustness_server.py, when written).
"""
from __future__ import annotations

import os
import signal
import stat
import struct
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from visage.core.audio import encode_wav, read_wav

VISAGE = [sys.executable, "-m", "visage.cli.main"]
CASE_TIMEOUT = 120  # a case that runs longer is a hang


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    message: str  # a fragment the error message must contain (case-insensitive)
    code: int = 2
    stdin: bytes | None = None
    made: tuple[str, ...] = ()  # files the case is expected to create (a success case)
    setup: tuple[str, ...] = field(default=())  # names of fixture files to place in the case's folder


def _wav_with_format(tag: int, rate: int, bits: int = 16, data: bytes = b"\0\0" * 8000) -> bytes:
    fmt = struct.pack("<HHIIHH", tag, 1, rate, rate * bits // 8, bits // 8 or 1, bits)
    return (struct.pack("<4sI4s", b"RIFF", 36 + len(data), b"WAVE") + struct.pack("<4sI", b"fmt ", 16) + fmt
            + struct.pack("<4sI", b"data", len(data)) + data)


def _fixture_files(shared: Path) -> dict[str, callable]:
    """Makers of the files cases start from, by name: each writes the file into a case's folder."""
    from PIL import Image

    big = shared / "big.png"
    if not big.exists():  # 13000x13000 PNG: ~0.5 MB on disk, ~500 MB once decoded
        Image.new("L", (13000, 13000), 128).save(big, optimize=True)

    def writer(name: str, data: bytes):
        return lambda d: (d / name).write_bytes(data)

    def folder(name: str):
        return lambda d: (d / name).mkdir()

    def link(name: str, target: Path):
        return lambda d: os.symlink(target, d / name)

    rng = np.random.default_rng(0)
    return {
        "d/": folder("d"), "d.mp4/": folder("d.mp4"), "d.wav/": folder("d.wav"), "d.json/": folder("d.json"),
        "v.srt/": folder("v.srt"), "v.motion.json/": folder("v.motion.json"),
        "d.png/": folder("d.png"), "d.yaml/": folder("d.yaml"),
        "noise.yaml": writer("noise.yaml", bytes(range(128, 256)) * 4),
        "broken.yaml": writer("broken.yaml", b"mouth_gain: [1, 2\n"),
        "afile": writer("afile", b"x"),
        "empty.wav": writer("empty.wav", b""),
        "noise.bin": writer("noise.bin", rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()),
        "silent-header.wav": writer("silent-header.wav", encode_wav(np.zeros(0, np.float32), 16000)),
        "rate1.wav": writer("rate1.wav", _wav_with_format(1, 1)),
        "adpcm.wav": writer("adpcm.wav", _wav_with_format(2, 16000, bits=4)),
        "tone.wav": writer("tone.wav", encode_wav(0.3 * np.sin(np.arange(16000) / 10.0).astype(np.float32), 16000)),
        "truncated.wav": writer("truncated.wav", encode_wav(np.zeros(1600, np.float32), 16000)[:30]),
        "notimage.jpg": writer("notimage.jpg", b"this is not a JPEG\n" * 20),
        "big.png": link("big.png", big),
        "stale-part": writer(f".a.wav.{_dead_pid()}-k3j9.part", b"left by a killed process"),
    }


def _dead_pid() -> int:
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except OSError:
            pass
        pid -= 1


LONG = "This sentence is long enough to keep the voice busy for a while. " * 3

CASES = [
    # recordings that cannot be read
    Case("audio-missing", ("animate", "--audio", "missing.wav", "--text", "hi", "-o", "m.json"), "no such audio file"),
    Case("audio-folder", ("say", "--audio", "d/", "--text", "hi", "-o", "x.mp4"), "is a folder", setup=("d/",)),
    Case("audio-empty", ("animate", "--audio", "empty.wav", "--text", "hi", "-o", "m.json"), "is empty",
         setup=("empty.wav",)),
    Case("audio-not-wav", ("animate", "--audio", "noise.bin", "--text", "hi", "-o", "m.json"), "not a wav file",
         setup=("noise.bin",)),
    Case("audio-no-samples", ("animate", "--audio", "silent-header.wav", "--text", "hi", "-o", "m.json"),
         "no audio samples", setup=("silent-header.wav",)),
    Case("audio-rate-1hz", ("animate", "--audio", "rate1.wav", "--text", "hi", "-o", "m.json"), "1 hz",
         setup=("rate1.wav",)),
    Case("audio-adpcm", ("say", "--audio", "adpcm.wav", "--text", "hi", "-o", "x.mp4"), "unsupported wav",
         setup=("adpcm.wav",)),
    Case("audio-truncated", ("animate", "--audio", "truncated.wav", "--text", "hi", "-o", "m.json"),
         "broken wav", setup=("truncated.wav",)),
    Case("audio-without-text", ("animate", "--audio", "tone.wav", "-o", "m.json"), "needs --text",
         setup=("tone.wav",)),
    # numbers out of range
    Case("seed-negative", ("say", "hi", "--seed", "-5", "-o", "x.mp4"), "--seed"),
    Case("seed-not-number", ("animate", "hi", "--seed", "abc", "-o", "m.json"), "--seed"),
    Case("size-huge", ("say", "hi", "--size", "100000", "-o", "x.mp4"), "--size"),
    Case("size-odd", ("say", "hi", "--size", "257", "-o", "x.mp4"), "--size"),
    Case("fps-negative", ("animate", "hi", "--fps", "-5", "-o", "m.json"), "--fps"),
    Case("intensity-negative", ("speak", "hi", "--intensity", "-1", "-o", "a.wav"), "--intensity"),
    Case("intensity-nan", ("speak", "hi", "--intensity", "nan", "-o", "a.wav"), "--intensity"),
    # outputs that cannot be written: refused before any work
    Case("say-output-folder", ("say", "hi", "-o", "d.mp4"), "is a folder", setup=("d.mp4/",)),
    Case("speak-output-folder", ("speak", "hi", "-o", "d.wav"), "is a folder", setup=("d.wav/",)),
    Case("animate-output-folder", ("animate", "hi", "-o", "d.json"), "is a folder", setup=("d.json/",)),
    Case("ask-output-folder", ("ask", "hi", "-o", "d.mp4"), "is a folder", setup=("d.mp4/",)),
    Case("animate-wav-folder", ("animate", "hi", "-o", "m.json", "--wav", "d.wav"), "is a folder", setup=("d.wav/",)),
    Case("timings-folder", ("speak", "hi", "-o", "a.wav", "--timings", "d.json"), "is a folder", setup=("d.json/",)),
    Case("say-subtitles-folder", ("say", "hi", "-o", "v.mp4"), "v.srt is a folder", setup=("v.srt/",)),
    Case("say-motion-folder", ("say", "hi", "-o", "v.mp4"), "v.motion.json is a folder", setup=("v.motion.json/",)),
    Case("output-missing-folder", ("speak", "hi", "-o", "nowhere/a.wav"), "does not exist"),
    Case("output-under-a-file", ("speak", "hi", "-o", "afile/a.wav"), "not a folder", setup=("afile",)),
    Case("output-device", ("speak", "hi", "-o", "/dev/full"), "not a regular file"),
    Case("output-dot", ("speak", "hi", "-o", "."), "folder"),
    Case("output-twice", ("speak", "hi", "-o", "a.wav", "--timings", "a.wav"), "two different outputs"),
    Case("animate-wav-twice", ("animate", "hi", "-o", "m.json", "--wav", "m.json"), "two different outputs"),
    Case("say-not-mp4", ("say", "hi", "-o", "x.avi"), ".mp4"),
    Case("speak-not-wav", ("speak", "hi", "-o", "x.mp3"), "must be a .wav file"),
    Case("output-is-the-recording", ("animate", "--audio", "tone.wav", "--text", "hi", "-o", "tone.wav"),
         "both an input and an output", setup=("tone.wav",)),
    Case("wav-is-the-recording", ("animate", "--audio", "tone.wav", "--text", "hi", "-o", "m.json", "--wav",
                                  "./tone.wav"), "both an input and an output", setup=("tone.wav",)),
    Case("plot-format-unknown", ("animate", "hi", "-o", "m.json", "--plot", "p.txt"), "the plot must be"),
    Case("plot-folder", ("animate", "hi", "-o", "m.json", "--plot", "d.png"), "is a folder", setup=("d.png/",)),
    Case("style-binary-yaml", ("animate", "hi", "--style", "noise.yaml", "-o", "m.json"), "cannot read the style",
         setup=("noise.yaml",)),
    Case("style-folder-yaml", ("animate", "hi", "--style", "d.yaml", "-o", "m.json"), "cannot read the style",
         setup=("d.yaml/",)),
    Case("style-broken-yaml", ("animate", "hi", "--style", "broken.yaml", "-o", "m.json"), "is invalid",
         setup=("broken.yaml",)),
    # text that says nothing, or is not text
    Case("text-empty", ("speak", "", "-o", "a.wav"), "nothing to say"),
    Case("text-blank", ("speak", "  \n\t ", "-o", "a.wav"), "nothing to say"),
    Case("text-punctuation", ("speak", "...!!! ??", "-o", "a.wav"), "nothing to say"),
    Case("text-punctuation-animate", ("animate", "— … !!", "-o", "m.json"), "nothing to"),
    Case("stdin-empty", ("speak", "-", "-o", "a.wav"), "nothing to say", stdin=b""),
    Case("stdin-binary", ("speak", "-", "-o", "a.wav"), "not utf-8", stdin=bytes(range(256)) * 8),
    Case("stdin-nul", ("animate", "-", "-o", "m.json"), "binary", stdin=b"hello\0world"),
    Case("no-text", ("say", "-o", "x.mp4"), "give text"),
    # names that do not exist
    Case("lang-unknown", ("speak", "hi", "--lang", "xx", "-o", "a.wav"), "unknown language"),
    Case("voice-unknown", ("speak", "hi", "--voice", "nobody", "-o", "a.wav"), "unknown voice"),
    Case("style-unknown", ("animate", "hi", "--style", "nostyle", "-o", "m.json"), "unknown style"),
    Case("style-missing-yaml", ("animate", "hi", "--style", "missing.yaml", "-o", "m.json"), "missing.yaml"),
    Case("emotion-unknown", ("speak", "hi", "--emotion", "furious", "-o", "a.wav"), "--emotion"),
    Case("tts-unknown", ("speak", "hi", "--tts", "nonexistent", "-o", "a.wav"), "unknown voice backend"),
    Case("tts-option-malformed", ("speak", "hi", "--tts-option", "garbage", "-o", "a.wav"), "key=value"),
    Case("avatar-unknown", ("say", "hi", "--avatar", "nobody", "-o", "x.mp4"), "no avatar named"),
    # photos that are not usable
    Case("portrait-missing", ("say", "hi", "--portrait", "missing.jpg", "-o", "x.mp4"), "no such photo"),
    Case("portrait-not-image", ("say", "hi", "--portrait", "notimage.jpg", "-o", "x.mp4"), "not an image",
         setup=("notimage.jpg",)),
    Case("portrait-13000px", ("say", "hi", "--portrait", "big.png", "-o", "x.mp4"), "megapixels", setup=("big.png",)),
    Case("avatar-create-13000px", ("avatar", "create", "big.png", "--name", "big"), "megapixels", setup=("big.png",)),
    Case("avatar-create-not-image", ("avatar", "create", "notimage.jpg", "--name", "x"), "not an image",
         setup=("notimage.jpg",)),
    # what must work: odd names, and a part left by a killed process swept by the next writer
    Case("unicode-file-name", ("speak", "héllo, 你好", "-o", "ünï cödé 你好 'x'.wav"), "wrote", code=0,
         made=("ünï cödé 你好 'x'.wav",)),
    Case("dash-and-newline-names", ("speak", "hi", "--output=-two\nlines.wav", "--timings=-t.json"), "wrote", code=0,
         made=("-two\nlines.wav", "-t.json")),
    Case("stale-part-swept", ("speak", "hi", "-o", "a.wav"), "wrote", code=0, made=("a.wav",),
         setup=("stale-part",)),
]


@dataclass
class Outcome:
    code: int | None
    stderr: str
    stdout: str
    before: set[str]
    after: set[str]
    seconds: float


def _run_case(case: Case, folder: Path, makers: dict, env: dict) -> Outcome:
    folder.mkdir()
    for name in case.setup:
        makers[name](folder)
    before = set(os.listdir(folder))
    began = time.perf_counter()
    try:
        done = subprocess.run([*VISAGE, *case.argv], cwd=folder, env=env, capture_output=True,
                              input=case.stdin if case.stdin is not None else b"", timeout=CASE_TIMEOUT)
        code, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        code, out, err = None, exc.stdout or b"", exc.stderr or b""
    return Outcome(code, err.decode(errors="replace"), out.decode(errors="replace"), before,
                   set(os.listdir(folder)), time.perf_counter() - began)


def _env(home: Path) -> dict:
    env = dict(os.environ, VISAGE_HOME=str(home), PYTHONUNBUFFERED="1")
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "") if env.get("PYTHONPATH") else src
    return env


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, Outcome]:
    root = tmp_path_factory.mktemp("robust-cli")
    makers = _fixture_files(tmp_path_factory.mktemp("robust-shared"))
    env = _env(root / "home")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {c.id: pool.submit(_run_case, c, root / c.id, makers, env) for c in CASES}
        return {cid: f.result() for cid, f in futures.items()}


def test_battery_is_large_enough():
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cli_case(case: Case, outcomes):
    o = outcomes[case.id]
    assert o.code is not None, f"hang: no answer in {CASE_TIMEOUT} s"
    assert "Traceback" not in o.stderr, o.stderr
    assert o.code == case.code, (o.code, o.stderr, o.stdout)
    text = (o.stderr + o.stdout).lower()
    assert case.message.lower() in text, (case.message, o.stderr, o.stdout)
    if case.code:
        assert "visage" in o.stderr and "error" in o.stderr.lower()
    expected = {n for n in o.before if not n.endswith(".part")} | set(case.made)
    assert o.after == expected, f"stray or missing files: {sorted(o.after ^ expected)}"


def test_device_is_left_a_device(outcomes):
    """`speak -o /dev/full` as root once renamed a regular file over the device node."""
    assert outcomes["output-device"].code == 2
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def _wait_for_parts(folder: Path, count: int, proc: subprocess.Popen, timeout: float = 90.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        parts = [n for n in os.listdir(folder) if n.endswith(".part")]
        if len(parts) >= count:
            return parts
        time.sleep(0.05)
    raise AssertionError(f"`visage say` wrote no {count} parts in {timeout} s (exit {proc.poll()})")


def test_sigterm_and_sigkill_leave_no_parts(tmp_path):
    """SIGTERM during `say`: exit 143, no part left. SIGKILL cannot be caught: its parts stay until the
    next run writing the same video sweeps them (their writer's pid is dead)."""
    env = _env(tmp_path / "home")
    argv = [*VISAGE, "say", "-", "-o", "long.mp4", "--size", "256", "--quiet"]
    for sig, code in ((signal.SIGTERM, -signal.SIGTERM), (signal.SIGKILL, -signal.SIGKILL)):
        proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdin.write((LONG * 20).encode())
        proc.stdin.close()
        parts = _wait_for_parts(tmp_path, 4, proc)  # video, subtitles (2) and motion: all being written
        assert len(parts) == 4, parts
        proc.send_signal(sig)
        proc.wait(timeout=30)
        err = proc.stderr.read()
        proc.stderr.close()
        left = sorted(n for n in os.listdir(tmp_path) if n != "home")
        if sig == signal.SIGTERM:
            assert proc.returncode == 143, err.decode()
            assert b"Traceback" not in err and b"stopped by SIGTERM" in err
            assert left == [], left
        else:
            assert proc.returncode == code
            assert len(left) == 4 and all(n.endswith(".part") for n in left), left
    # the next run writing long.mp4 sweeps the dead process's parts before it starts (here it then stops
    # at once on a missing avatar, so the sweep is all it does)
    done = subprocess.run([*VISAGE, "say", "hi", "-o", "long.mp4", "--avatar", "nobody"], cwd=tmp_path, env=env,
                          capture_output=True, timeout=CASE_TIMEOUT)
    assert done.returncode == 2 and b"no avatar named" in done.stderr
    assert sorted(n for n in os.listdir(tmp_path) if n != "home") == []


def test_long_speech_becomes_rf64(espeak, tmp_path):
    """A WAV past 4 GiB cannot be RIFF; the writer turns it into RF64. The limit is lowered so that a few
    seconds of speech cross it, and FFmpeg (through PyAV) and visage's reader read the result."""
    import av

    from visage.backends.tts.narration import requests_for_text
    from visage.offline.speak import speak_to_files

    text = "Long speech must not fail at four gigabytes. It turns into RF64."
    for name, limit, magic in (("small.wav", 2**32 - 1, b"RIFF"), ("big.wav", 10_000, b"RF64")):
        summary = speak_to_files(espeak, requests_for_text(text), tmp_path / name, riff_limit=limit)
        assert (tmp_path / name).read_bytes()[:4] == magic
        x, rate = read_wav(tmp_path / name)
        assert rate == summary.sample_rate and len(x) == round(summary.duration * rate) > 10_000
        with av.open(str(tmp_path / name)) as container:
            stream = container.streams.audio[0]
            assert stream.rate == rate and stream.codec_context.name == "pcm_s16le"
            decoded = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(stream)])
        assert len(decoded) == len(x)
        np.testing.assert_allclose(decoded / 32768.0, x, atol=1e-6)
    assert sorted(os.listdir(tmp_path)) == ["big.wav", "small.wav"]  # no part left


def test_plain_wav_is_read_by_the_standard_library(espeak, tmp_path):
    """The header reserves room for RF64 with a JUNK chunk; ordinary readers skip it."""
    import wave

    from visage.backends.tts.narration import requests_for_text
    from visage.offline.speak import speak_to_files

    summary = speak_to_files(espeak, requests_for_text("Hello there."), tmp_path / "a.wav")
    with wave.open(str(tmp_path / "a.wav")) as w:
        assert w.getframerate() == summary.sample_rate and w.getnchannels() == 1 and w.getsampwidth() == 2
        assert w.getnframes() == round(summary.duration * summary.sample_rate)


def test_a_stop_removes_parts_that_no_writer_owns_yet(tmp_path):
    """SIGTERM landing inside a writer's constructor (the part exists, the caller holds no writer to
    abort) must not orphan the part: the stop handler removes every part its block opened."""
    from visage.offline.files import AtomicPath, Terminated, sigterm_as_interrupt

    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated):
        with sigterm_as_interrupt():
            kept = AtomicPath(tmp_path / "kept.txt")
            kept.tmp.write_text("done")
            kept.commit()
            AtomicPath(tmp_path / "orphan.wav")
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)  # the handler raises here
    assert os.listdir(tmp_path) == ["kept.txt"]
    assert signal.getsignal(signal.SIGTERM) is previous
