"""`visage batch`: one talking-portrait video per line of a jobs file, resumable, here or on Ray."""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import textwrap
from pathlib import Path

from tqdm import tqdm

from visage.cli.batch_jobs import KEYS, JobLine, job_files, read_jobs
from visage.cli.options import whole_number
from visage.errors import InputError
from visage.offline.batch import BatchJob, BatchReport, JobResult, run_batch
from visage.offline.batch_record import job_hash

EXAMPLES = """\
examples:
  visage batch lessons.jsonl --out videos/
  visage batch lessons.jsonl --out videos/ --workers 2
  visage batch lessons.jsonl --out videos/ --ray                  (a Ray started here, one actor per CPU)
  visage batch lessons.jsonl --out videos/ --ray 10.0.0.5:6379    (a Ray cluster's head)
  visage batch lessons.jsonl --out videos/ --check                (check every line, render nothing)

lessons.jsonl holds one JSON object per line, e.g.
  {"text": "Welcome to lesson one.", "output": "lesson1.mp4", "size": 512, "emotion": "happy"}
  {"audio": "intro.wav", "text": "what is said in it", "output": "intro.mp4", "avatar": "anna"}
%s
They are `visage say`'s options (lang is --lang, tts_options an object of --tts-option values).
Relative paths are taken from the jobs file's folder; `output` is a .mp4 name inside --out
(subfolders allowed), written with its .srt, .vtt and .motion.json as `visage say` writes them.

Every line is checked before any work starts. A rerun skips the jobs already made (their record in
OUT/.visage-batch/ matches the line and their files check out: sizes, SHA-256, the MP4's duration);
a changed line or a damaged file renders again. A failed job is reported and the others go on; the
exit code is 0 only when every job succeeded (1 when some failed, 2 for a bad jobs file).
With --ray on a cluster, the workers must see --out and the recordings at the same paths (a shared
file system).
""" % textwrap.fill("Keys: " + ", ".join(KEYS) + ".", 100)


def add_parser(commands) -> None:
    p = commands.add_parser(
        "batch", help="render one video per line of a JSONL jobs file (resumable; local processes or Ray)",
        description="Render many talking-portrait videos: one per line of JOBS.jsonl, into --out.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("jobs", metavar="JOBS.jsonl", help="the jobs: one JSON object per line")
    p.add_argument("--out", required=True, metavar="DIR", help="the folder the videos go to (made if missing)")
    p.add_argument("--workers", type=_count, default=None, metavar="N",
                   help="local worker processes (default 1); with --ray, Ray actors (default: one per CPU)")
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="run the jobs as Ray tasks: on a Ray started here, or on the cluster at ADDRESS "
                        "(needs the `ray` extra)")
    p.add_argument("--check", action="store_true", help="check the jobs file and outputs, render nothing")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(run=run)


_count = whole_number(1, 256, "a number of workers from 1 to 256")


class SayJobRunner:
    """Renders a job as `visage say` would. Carries the avatars (loaded once, by the command) to each
    worker; there it builds each voice and renderer once and keeps it for the worker's next jobs."""

    def __init__(self, avatars: dict) -> None:
        self.avatars = avatars  # avatar_key -> Avatar
        self._renderers: dict = {}
        self._voices: dict = {}

    def __getstate__(self) -> dict:  # what travels: the avatars, not what a worker loaded
        return {"avatars": self.avatars}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["avatars"])

    def render(self, job: BatchJob) -> float:
        from visage.backends.tts.narration import narrate
        from visage.cli.options import speech_stream, text_requests
        from visage.offline.say import say_to_files

        line: JobLine = job.spec
        video = line.video
        if line.voice is None:  # a recording: timed by the aligner
            stream, _ = speech_stream(line.args)
        else:
            stream = narrate(self._voice(line.voice), text_requests(line.args, line.args.text))
        summary = say_to_files(stream, job.video, self._renderer(video), fps=video.fps, style=video.style,
                               seed=video.seed)
        return summary.duration

    def _renderer(self, video):
        from visage.backends.renderers import create_renderer, renderer_for

        key = (avatar_key(video), video.size)
        if key not in self._renderers:
            avatar = self.avatars.get(key[0])  # a video avatar gets the video renderer, as in build_renderer
            self._renderers[key] = create_renderer(renderer_for(avatar), avatar=avatar, size=video.size)
        return self._renderers[key]

    def _voice(self, settings):
        from visage.config import build_voice

        key = settings.model_dump_json()
        if key not in self._voices:
            self._voices[key] = build_voice(settings)
        return self._voices[key]


def avatar_key(video) -> str:
    return f"portrait:{video.portrait}" if video.portrait else f"avatar:{video.avatar}" if video.avatar else "default"


def load_avatars(lines: list[JobLine], warn) -> tuple[dict, dict[str, str]]:
    """Each avatar the jobs name, loaded once here (a photo analysed once), and a digest of each, so a
    job whose avatar was saved anew renders again."""
    from visage.backends.renderers.analysis import analyse_portrait
    from visage.backends.renderers.avatar_store import AvatarStore

    avatars, digests, errors = {}, {}, []
    for line in lines:
        key = avatar_key(line.video)
        if key in avatars:
            continue
        try:
            if key == "default":  # analysed once here (and stored), not by each worker
                avatar = AvatarStore().default_avatar()
            elif line.video.portrait:
                avatar, warnings = analyse_portrait(line.video.portrait)
                for w in warnings:
                    warn(f"{Path(line.video.portrait).name}: {w}")
            else:
                avatar = AvatarStore().load(line.video.avatar)
        except InputError as exc:
            errors.append(f"line {line.line}: {exc}")
            avatars[key] = None  # reported once
            continue
        avatars[key] = avatar
        digest = hashlib.sha256(avatar.image.tobytes() + avatar.landmarks.tobytes())
        digest.update(json.dumps(avatar.info, sort_keys=True, default=str).encode())
        digests[key] = digest.hexdigest()
    if errors:
        raise InputError("bad avatar(s), nothing was rendered:\n  " + "\n  ".join(errors))
    return avatars, digests


def batch_jobs(lines: list[JobLine], out_dir: Path, digests: dict[str, str]) -> list[BatchJob]:
    """The jobs to run, their outputs checked as `visage say` checks its own (folders made first)."""
    from visage.cli.say import check_output

    jobs, errors = [], []
    for line in lines:
        try:
            (out_dir / line.output).parent.mkdir(parents=True, exist_ok=True)
            check_output(str(out_dir / line.output), inputs=[line.args.audio, line.args.portrait])
        except (InputError, OSError) as exc:
            errors.append(f"line {line.line}: {getattr(exc, 'strerror', None) or exc}")
            continue
        key = job_hash({**line.settings, "output": line.output, "avatar": digests[avatar_key(line.video)]},
                       audio=line.args.audio)
        jobs.append(BatchJob(line.line, line.output, out_dir / line.output, job_files(out_dir, line.output), key,
                             line, out_dir))
    if errors:
        raise InputError("bad output(s), nothing was rendered:\n  " + "\n  ".join(errors))
    return jobs


def run(args: argparse.Namespace) -> int:
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir} is a file, not a folder")
    if args.ray is not None:
        from visage.errors import require

        require("ray", "batch rendering on Ray", "ray")  # before any work
    warn = (lambda w: None) if args.quiet else (lambda w: print(f"visage: warning: {w}", file=sys.stderr))
    lines = read_jobs(args.jobs, out_dir)
    avatars, digests = load_avatars(lines, warn)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = batch_jobs(lines, out_dir, digests)
    if args.check:
        if not args.quiet:
            print(f"{len(jobs)} job(s) checked: all good")
        return 0
    workers = args.workers if args.workers is not None else (0 if args.ray is not None else 1)
    with tqdm(total=len(jobs), unit="job", desc="batch", disable=args.quiet, leave=False) as bar:
        def progress(result: JobResult) -> None:
            if result.status == "failed":
                bar.write(f"visage: line {result.line} ({result.output}) failed: {result.error}", file=sys.stderr)
            bar.update(1)

        report = run_batch(jobs, SayJobRunner(avatars), workers=workers, ray=args.ray, on_result=progress)
    if not args.quiet:
        print(summary(report))
    return 0 if report.ok else 1


def summary(report: BatchReport) -> str:
    failed = [r for r in report.results if r.status == "failed"]
    text = (f"batch: {report.count('done')} done, {len(failed)} failed, {report.count('skipped')} skipped "
            f"(already made) of {len(report.results)}; {report.speech:.1f} s of speech made in {report.wall:.1f} s "
            f"on {report.workers} ({report.throughput:.2f} s of video per second)")
    return text + "".join(f"\n  line {r.line} ({r.output}): {r.error}" for r in failed)
