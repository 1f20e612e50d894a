"""The jobs file of `visage batch`: one JSON object per line, each checked as `visage say` checks its flags.

A line's keys are `visage say`'s options (`size` is --size, `lang` is --lang, ...), so a line is turned
into the argument list `visage say` would get and parsed by `visage say`'s own parser and settings: a
value refused there is refused here, with the same words, the flag named by its key and the line number
in front. Every line is checked before any work starts; relative paths (audio, portrait, a style file)
are taken from the jobs file's folder.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from visage.cli.options import add_speech_source_options, avatar_info, from_flags, take_avatar_voice, voice_settings
from visage.config.settings import VideoSettings, VoiceSettings
from visage.errors import InputError
from visage.offline.batch_record import RECORDS_FOLDER
from visage.offline.say import SayOutputs

# a job's key -> the `visage say` flag it stands for ("text" is TEXT, or --text beside "audio")
FLAGS = {"audio": "--audio", "avatar": "--avatar", "portrait": "--portrait", "voice": "--voice", "tts": "--tts",
         "tts_options": "--tts-option", "fallback": "--fallback", "lang": "--lang", "emotion": "--emotion",
         "intensity": "--intensity", "emphasis": "--emphasis", "pitch": "--pitch", "style": "--style",
         "size": "--size", "fps": "--fps", "seed": "--seed"}
KEYS = ("text", "output", *FLAGS)
PATH_KEYS = ("audio", "portrait")
MAX_ERRORS = 20  # shown at once; the rest are counted


@dataclass(frozen=True)
class JobLine:
    """A checked job line: `visage say`'s parsed options, the video settings, the voice settings (None
    for a recording) and the settings that identify the job (for its record)."""

    line: int
    output: str
    args: argparse.Namespace
    video: VideoSettings
    voice: VoiceSettings | None
    settings: dict


class _SayParser(argparse.ArgumentParser):
    def error(self, message: str):  # raise instead of printing usage and exiting
        raise InputError(message)


def say_parser() -> argparse.ArgumentParser:
    """`visage say`'s options, the same functions building them, less -o (the job's output is ours)."""
    from visage.cli.say import add_video_options

    p = _SayParser(prog="visage say", add_help=False)
    add_speech_source_options(p)
    add_video_options(p)
    return p


def in_job_words(message: str) -> str:
    """An option's error in the jobs file's words: the key, not the flag."""
    message = message.replace("--audio needs --text", "'audio' needs 'text'")
    for key, flag in sorted(FLAGS.items(), key=lambda kv: -len(kv[1])):
        message = message.replace(f"argument {flag}", repr(key)).replace(flag, repr(key))
    return message.replace("argument -o/--output", "'output'")


def argv_of(job: dict, base: Path, output: Path) -> list[str]:
    """The `visage say` arguments a job's keys stand for (values as --flag=value, so a text starting
    with '-' stays a value)."""
    argv = [f"--output={output}"]
    for key, value in job.items():
        if key in ("text", "output") or value is None:
            continue
        if key == "tts_options":
            if not isinstance(value, dict):
                raise InputError("'tts_options' must be an object of option names to values")
            argv += [f"--tts-option={k}={v}" for k, v in value.items()]
            continue
        if key == "emphasis" and isinstance(value, list):
            value = ",".join(map(str, value))
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InputError(f"{key!r} must be a text or a number, not {json.dumps(value)}")
        if key in PATH_KEYS or (key == "style" and str(value).endswith((".yaml", ".yml"))):
            value = str(base / value)
        argv.append(f"{FLAGS[key]}={value}")
    text = job.get("text")
    if text is not None and not isinstance(text, str):
        raise InputError(f"'text' must be a text, not {json.dumps(text)}")
    if job.get("audio") is not None:
        if text is not None:  # without it, the recording is transcribed as `visage say --audio` does
            if not text.strip():
                raise InputError("'text' is empty: give what is said in the recording, or leave it out")
            argv.append(f"--text={text}")
    elif text is None:
        raise InputError("give 'text' to say, or 'audio' with 'text'")
    elif not text.strip():
        raise InputError("nothing to say: 'text' is empty")
    else:
        argv += ["--", text]
    return argv


def output_name(value, out_dir: Path) -> str:
    """The job's output, a relative .mp4 path that stays inside the output folder."""
    if not isinstance(value, str) or not value.strip():
        raise InputError("'output' must be the video's file name inside the output folder, e.g. \"lesson1.mp4\"")
    path = Path(value)
    if path.is_absolute() or ".." in path.parts or not (out_dir / path).resolve().is_relative_to(out_dir.resolve()):
        raise InputError(f"'output' {value!r} leaves the output folder; give a name inside it")
    if path.parts[0] == RECORDS_FOLDER:
        raise InputError(f"'output' {value!r} is inside {RECORDS_FOLDER}/, where the batch keeps its records")
    if path.suffix.lower() != ".mp4":
        raise InputError(f"'output' must be an .mp4 file, got {path.name!r}")
    return path.as_posix()


def parse_line(number: int, raw: str, base: Path, out_dir: Path) -> JobLine:
    try:
        job = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(job, dict):
        raise InputError("a job must be a JSON object, e.g. {\"text\": \"Hello\", \"output\": \"hello.mp4\"}")
    unknown = [k for k in job if k not in KEYS]
    if unknown:
        raise InputError(f"unknown key(s) {', '.join(map(repr, unknown))}; known: {', '.join(KEYS)}")
    output = output_name(job.get("output"), out_dir)
    try:
        args = say_parser().parse_args(argv_of(job, base, out_dir / output))
        video = from_flags(VideoSettings, size=args.size, fps=args.fps, style=args.style, seed=args.seed,
                           avatar=args.avatar, portrait=args.portrait)
        if not args.audio:  # the avatar's stored voice and pitch unless the line chose them
            take_avatar_voice(args, avatar_info(args.avatar),
                              lambda w: print(f"visage: warning: line {number}: {w}", file=sys.stderr))
        voice = None if args.audio else voice_settings(args)
    except InputError as exc:
        raise InputError(in_job_words(str(exc))) from None
    for key in PATH_KEYS:
        if getattr(args, key) and not Path(getattr(args, key)).is_file():
            raise InputError(f"{key!r}: no such file: {getattr(args, key)}")
    if args.audio:
        from visage.core.audio import read_wav

        read_wav(args.audio)  # a file that is not a WAV is a bad line, found now rather than mid-batch
    args.quiet = True  # a worker prints nothing of its own (the transcript it heard, say) over the bar
    settings = {k: v for k, v in vars(args).items() if k not in ("quiet",)}
    return JobLine(number, output, args, video, voice, settings)


def read_jobs(path: str | os.PathLike, out_dir: Path) -> list[JobLine]:
    """Every job of the file, checked; all errors at once (each with its line number) as one InputError."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the jobs file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    jobs, errors, outputs = [], [], {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            job = parse_line(number, raw, path.parent, out_dir)
            key = os.path.normcase(Path(job.output).with_suffix("").as_posix())  # a.mp4 and a.MP4 share a.srt
            if key in outputs:
                raise InputError(f"output {job.output!r} (or its subtitles) is already written by line "
                                 f"{outputs[key]}")
            outputs[key] = number
            jobs.append(job)
        except InputError as exc:
            errors.append(f"{path.name} line {number}: {exc}")
    if not jobs and not errors:
        errors.append(f"{path.name} has no jobs: give one JSON object per line")
    if errors:
        more = f"\n... and {len(errors) - MAX_ERRORS} more" if len(errors) > MAX_ERRORS else ""
        raise InputError(f"{len(errors)} bad job line(s), nothing was rendered:\n  "
                         + "\n  ".join(errors[:MAX_ERRORS]) + more)
    return jobs


def job_files(out_dir: Path, output: str) -> tuple[Path, ...]:
    return SayOutputs.beside(out_dir / output).all()
