"""`visage batch`: every line checked first, real MP4s decoded back, resume by verified records, a failing
job that does not stop the others, two local worker processes, a real local Ray, and SIGTERM cleanup."""
import json
import os
import signal
import subprocess
import sys
import time

import av  # the portrait extra: missing is a failure, not a skip
import pytest
import ray  # the ray extra (in `all`): missing is a failure, not a skip  # noqa: F401

from visage.cli.batch import SayJobRunner
from visage.cli.main import main
from visage.core.motion.engine import TAIL_SECONDS
from visage.offline.batch_record import RECORDS_FOLDER

JOBS = [
    {"text": "Hello there.", "output": "a.mp4", "size": 256},
    {"text": "Good bye, my friend.", "output": "b.mp4", "size": 256, "emotion": "happy", "seed": 7},
]


@pytest.fixture(scope="module", autouse=True)
def avatar_home(tmp_path_factory):
    """The default avatar is analysed into a temporary store, not the user's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VISAGE_HOME", str(tmp_path_factory.mktemp("home")))
        yield


def write_jobs(path, jobs):
    path.write_text("".join((j if isinstance(j, str) else json.dumps(j)) + "\n" for j in jobs), encoding="utf-8")
    return path


def records(out):
    return {p.name: json.loads(p.read_text()) for p in sorted((out / RECORDS_FOLDER).glob("*.json"))}


def check_video(path, speech):
    """The MP4 decodes (video and audio) and lasts the speech plus the face's settling tail."""
    with av.open(str(path)) as c:
        frames = sum(1 for _ in c.decode(video=0))
        duration = c.duration / 1e6
        assert c.streams.audio and c.streams.video[0].width == 256
    assert frames > 10
    assert abs(duration - (speech + TAIL_SECONDS)) < 0.15, (duration, speech)


def test_bad_lines_are_all_reported_with_line_numbers_before_any_work(tmp_path, capsys):
    jobs = write_jobs(tmp_path / "jobs.jsonl", [
        JOBS[0],
        '{"text": "unclosed", ',
        {"text": "x", "output": "../escape.mp4"},
        {"text": "x", "output": "c.mp4", "size": 301},
        {"text": "x", "output": "d.mp4", "colour": "red"},
        {"text": "x", "output": "a.mp4"},
        {"text": "x", "output": "e.mp4", "emotion": "grumpy"},
        {"audio": "none.wav", "text": "x", "output": "f.mp4"},
        {"text": "x", "output": "g.mp4", "avatar": "anna", "portrait": "me.jpg"},
        {"text": "x", "output": "h.avi"},
        {"text": "x", "output": "i.mp4", "fps": 24},
        {"text": "x", "output": "a.MP4"},  # its subtitles would be a.srt, line 1's
        {"text": "x", "output": ".visage-batch/j.mp4"},
    ])
    out = tmp_path / "out"
    assert main(["batch", str(jobs), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    for number, words in ((2, "not valid JSON"), (3, "leaves the output folder"), (4, "even number of pixels"),
                          (5, "unknown key(s) 'colour'"), (6, "already written by line 1"), (7, "unknown emotion"),
                          (8, "'audio': no such file"), (9, "'portrait': not allowed with 'avatar'"),
                          (10, "must be an .mp4"), (11, "'fps': frames per second must be one of"),
                          (12, "already written by line 1"), (13, "where the batch keeps its records")):
        assert f"jobs.jsonl line {number}: " in err and words in err, (number, words, err)
    assert "line 1:" not in err and "12 bad job line(s), nothing was rendered" in err
    assert not out.exists() and not (tmp_path / "escape.mp4").exists()
    write_jobs(jobs, JOBS)  # --check: every line and output checked, nothing rendered
    assert main(["batch", str(jobs), "--out", str(out), "--check"]) == 0
    assert "2 job(s) checked: all good" in capsys.readouterr().out and list(out.iterdir()) == []


def test_batch_renders_then_resumes_skipping_verified_jobs_and_redoing_damaged_or_changed(tmp_path, capsys):
    jobs = write_jobs(tmp_path / "jobs.jsonl", JOBS)
    out = tmp_path / "out"
    assert main(["batch", str(jobs), "--out", str(out), "--quiet"]) == 0
    made = records(out)
    assert sorted(made) == ["a.mp4.json", "b.mp4.json"]
    for name in ("a", "b"):
        check_video(out / f"{name}.mp4", made[f"{name}.mp4.json"]["speech"])
        assert (out / f"{name}.srt").read_text().strip() and (out / f"{name}.motion.json").is_file()
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.*")}

    assert main(["batch", str(jobs), "--out", str(out)]) == 0  # nothing to do: both verified
    assert "0 done, 0 failed, 2 skipped" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.*")} == stamps

    # b.mp4 damaged in place (same size: only its hash tells), a.mp4's line changed: both render again
    data = bytearray((out / "b.mp4").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (out / "b.mp4").write_bytes(bytes(data))
    write_jobs(jobs, [{**JOBS[0], "text": "Hello there, again."}, JOBS[1]])
    assert main(["batch", str(jobs), "--out", str(out)]) == 0
    assert "2 done, 0 failed, 0 skipped" in capsys.readouterr().out
    again = records(out)
    assert again["a.mp4.json"]["job"] != made["a.mp4.json"]["job"]
    assert again["a.mp4.json"]["speech"] > made["a.mp4.json"]["speech"]
    check_video(out / "b.mp4", again["b.mp4.json"]["speech"])

    (out / "a.srt").unlink()  # a missing companion also counts
    assert main(["batch", str(jobs), "--out", str(out)]) == 0
    assert "1 done, 0 failed, 1 skipped" in capsys.readouterr().out
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]


def test_a_failing_job_is_reported_and_does_not_stop_the_others(tmp_path, capsys):
    failing = {"text": "No voice here.", "output": "broken.mp4", "size": 256, "tts": "openai",
               "tts_options": {"base_url": "http://127.0.0.1:9/v1"}, "fallback": "none"}
    jobs = write_jobs(tmp_path / "jobs.jsonl", [failing, JOBS[0]])
    out = tmp_path / "out"
    assert main(["batch", str(jobs), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "1 done, 1 failed, 0 skipped" in captured.out
    assert "line 1 (broken.mp4):" in captured.out and "line 1 (broken.mp4) failed:" in captured.err
    assert (out / "a.mp4").is_file() and not list(out.glob("broken*"))
    assert sorted(records(out)) == ["a.mp4.json"]


def test_one_runner_loads_each_voice_and_renderer_once(tmp_path):
    """What a worker keeps between jobs: three jobs, two sizes, one voice: one voice, two renderers."""
    from visage.cli.batch import batch_jobs, load_avatars
    from visage.cli.batch_jobs import read_jobs
    from visage.offline.batch import run_batch

    out = tmp_path / "out"
    jobs = write_jobs(tmp_path / "jobs.jsonl", [*JOBS, {"text": "Bigger.", "output": "c.mp4", "size": 320}])
    lines = read_jobs(jobs, out)
    avatars, digests = load_avatars(lines, print)
    out.mkdir()
    runner = SayJobRunner(avatars)
    report = run_batch(batch_jobs(lines, out, digests), runner)
    assert report.ok and report.count("done") == 3
    assert len(runner._voices) == 1 and sorted(k[1] for k in runner._renderers) == [256, 320]


def test_two_local_workers(tmp_path, capsys):
    jobs = write_jobs(tmp_path / "jobs.jsonl", [*JOBS, {"text": "And a third.", "output": "sub/c.mp4", "size": 256}])
    out = tmp_path / "out"
    assert main(["batch", str(jobs), "--out", str(out), "--workers", "2"]) == 0
    printed = capsys.readouterr().out
    assert "3 done, 0 failed, 0 skipped" in printed and "on 2 processes" in printed
    made = records(out)
    check_video(out / "sub" / "c.mp4", made["sub%2Fc.mp4.json"]["speech"])


def test_a_real_local_ray(tmp_path, capsys):
    """`--ray` starts a local Ray (two CPUs here), runs the jobs on two actors and shuts it down."""
    jobs = write_jobs(tmp_path / "jobs.jsonl", JOBS)
    out = tmp_path / "out"
    assert main(["batch", str(jobs), "--out", str(out), "--ray", "--workers", "2"]) == 0
    assert "2 done, 0 failed, 0 skipped" in capsys.readouterr().out
    made = records(out)
    for name in ("a", "b"):
        check_video(out / f"{name}.mp4", made[f"{name}.mp4.json"]["speech"])
    assert not ray.is_initialized()
    assert main(["batch", str(jobs), "--out", str(out), "--ray", "--workers", "2"]) == 0  # resumes there too
    assert "0 done, 0 failed, 2 skipped" in capsys.readouterr().out


@pytest.mark.parametrize("runner", [["--workers", "2"], ["--ray", "--workers", "2"]], ids=["processes", "ray"])
def test_sigterm_stops_the_workers_and_leaves_no_parts(tmp_path, runner):
    long = "This sentence is long enough to keep a worker busy for a while, it goes on and on. " * 6
    jobs = write_jobs(tmp_path / "jobs.jsonl", [{"text": long, "output": f"v{i}.mp4", "size": 256} for i in range(3)])
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "visage.cli.main", "batch", str(jobs), "--out", str(out),
                             *runner, "--quiet"], stderr=subprocess.PIPE, env=os.environ.copy())
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(_parts(out)) < 4 and proc.poll() is None:  # a worker is writing
        time.sleep(0.1)
    assert len(_parts(out)) >= 4, _parts(out)  # a worker is writing
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.returncode == 143 and "stopped by SIGTERM" in err and "Traceback" not in err, err
    assert _parts(out) == []
    finished = set(records(out))  # a job done before the stop is complete; no other video is there
    assert all(f"{p.name}.json" in finished for p in out.glob("*.mp4")), (finished, list(out.iterdir()))


def _parts(out):
    return sorted(p.name for p in out.rglob("*") if p.name.endswith(".part")) if out.exists() else []
