"""`visage say`: text (or a recording) to a talking-portrait video with subtitles, on the CPU."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tqdm import tqdm

from visage.cli.options import (add_motion_options, add_size_option, add_speech_source_options, add_voice_options,
                                avatar_info, from_flags, speech_stream, take_avatar_voice)
from visage.config.builders import build_renderer
from visage.config.settings import VideoSettings
from visage.errors import InputError
from visage.offline.files import check_outputs
from visage.offline.say import SayOutputs, say_to_files

EXAMPLES = """\
examples:
  visage say "Hello! Nice to meet you." -o hello.mp4
  visage say "I am so happy to see you! Sadly, I have to leave soon." --emotion auto -o mixed.mp4
  visage say "Welcome to the show." --portrait me.jpg --size 768 --style lively -o welcome.mp4
  visage say "你好，很高兴见到你。" --lang zh --avatar anna --fps 30 -o nihao.mp4
  visage say --audio speech.wav -o speech.mp4          (the words recognised, then timed)
  visage say --audio speech.wav --text "what is said in it" -o speech.mp4
  visage say - -o chapter.mp4 < chapter.txt        (long text streams with bounded memory)

Beside OUT.mp4 (H.264 + AAC, plays in browsers) come OUT.srt and OUT.vtt (subtitles) and
OUT.motion.json (the face's motion, as `visage animate` writes it). The portrait is the default avatar,
a saved one (--avatar, see `visage avatar`) or any photo of a face (--portrait, analysed on the fly).
--emotion auto reads each sentence's emotion from its words (English and Chinese keywords); --intensity
then scales the strength it finds (the default 0.6 keeps it as found).
"""


def add_parser(commands) -> None:
    p = commands.add_parser(
        "say", help="turn text or a recording into a talking-portrait video (MP4 + subtitles)",
        description="Speak TEXT (or use a recording) and render a portrait saying it into an MP4 video.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_speech_source_options(p)
    add_video_options(p)
    p.set_defaults(run=run)


def add_video_options(p: argparse.ArgumentParser) -> None:
    """-o, avatar, size, fps, style, seed, quiet and the voice: shared by `say` and `ask`."""
    p.add_argument("-o", "--output", required=True, metavar="OUT.mp4", help="the video to write")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--avatar", metavar="NAME", help="a saved avatar (default: the built-in portrait)")
    who.add_argument("--portrait", metavar="PHOTO", help="a photo of a face, analysed now and not saved")
    add_size_option(p)
    add_motion_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    add_voice_options(p)


def run(args: argparse.Namespace) -> int:
    video = video_settings(args)
    take_avatar_voice(args, avatar_info(args.avatar), warn)  # a saved avatar may name its voice and pitch
    stream, total = speech_stream(args)
    return render_video(stream, total, video, args.output, quiet=args.quiet)


def warn(message: str) -> None:
    print(f"visage: warning: {message}", file=sys.stderr)


def check_output(output: str, inputs=()) -> None:
    if Path(output).suffix.lower() != ".mp4":  # before any voice or photo work
        raise InputError(f"the video must be an .mp4 file, got {Path(output).name!r}")
    check_outputs(SayOutputs.beside(output).all(), inputs=inputs)


def video_settings(args: argparse.Namespace) -> VideoSettings:
    """The video the flags ask for, checked (with its output path) before any voice or photo work."""
    check_output(args.output, inputs=[getattr(args, "audio", None), args.portrait])
    return from_flags(VideoSettings, size=args.size, fps=args.fps, style=args.style, seed=args.seed,
                      avatar=args.avatar, portrait=args.portrait)


def render_video(stream, total: float | None, video: VideoSettings, output: str, quiet: bool = False) -> int:
    """Render a speech stream into the video `video` describes, with a progress bar and a summary."""
    began = time.perf_counter()
    renderer = build_renderer(video, warn=warn)
    with tqdm(total=total, unit="s", desc="rendering", disable=quiet, leave=False,
              bar_format="{l_bar}{bar}| {n:.1f}/{total} s" if total else "{desc}: {n:.1f} s of video") as bar:
        def progress(t: float) -> None:
            t = min(t, total) if total else t
            bar.update(round(t - bar.n, 3))

        summary = say_to_files(stream, output, renderer, fps=video.fps, style=video.style, seed=video.seed,
                               progress=progress)
    wall = time.perf_counter() - began
    if not quiet:
        o = summary.outputs
        print(f"wrote {o.video} with {o.srt.name}, {o.vtt.name} and {o.motion.name}: {summary.duration:.2f} s "
              f"of speech, {summary.sentences} sentence(s), {summary.frames} frames at {video.size}x{video.size}, "
              f"{video.fps} fps, in {wall:.1f} s ({wall / summary.duration:.2f}x real time)")
    return 0
