"""`visage animate`: speech to motion (ARKit-52 blendshapes, head pose, gaze) for any 3D client."""
from __future__ import annotations

import argparse

from tqdm import tqdm

from visage.cli.options import add_motion_options, add_speech_source_options, add_voice_options, speech_stream
from visage.offline.animate import animate_to_file
from visage.offline.files import check_outputs
from visage.offline.plot import check_plot_path

EXAMPLES = """\
examples:
  visage animate "Hello! Did you sleep well?" -o motion.json --plot motion.png
  visage animate "I can NOT believe it!" --emotion surprised --emphasis not --style lively -o wow.json
  visage animate "你好，很高兴见到你。" --lang zh --fps 30 -o nihao.jsonl      (JSON Lines, streams)
  visage animate --audio speech.wav -o speech.json     (the words recognised, then timed)
  visage animate --audio speech.wav --text "what was said in it" -o speech.json

motion.json: {"fps", "blendshape_names": [52 ARKit names, Live Link order], "frames": [{"t",
"blendshapes": [52], "head": {"pitch","yaw","roll","x","y","z"}, "gaze": {"yaw","pitch"}}...],
"phonemes": [{"symbol","start","end","viseme"}...], "words": [...], "sentences": [...]}.
Angles in degrees, translation in metres, times in seconds on the audio's clock.
"""


def add_parser(commands) -> None:
    p = commands.add_parser(
        "animate", help="turn text or a recording into face and head motion (ARKit-52 + head pose)",
        description="Speak TEXT (or align a recording) and write the face's motion, frame by frame.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_speech_source_options(p)
    p.add_argument("-o", "--output", required=True, help="motion file: .json (one object) or .jsonl (streamed lines)")
    add_motion_options(p)
    p.add_argument("--plot", metavar="M.png", help="also draw the motion over time into this PNG")
    p.add_argument("--wav", metavar="OUT.wav", help="also write the speech audio here")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    add_voice_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_outputs([args.output, args.plot and check_plot_path(args.plot), args.wav], inputs=[args.audio])
    stream, total = speech_stream(args)
    with tqdm(total=total, unit="s", desc="animating", disable=args.quiet, leave=False,
              bar_format="{l_bar}{bar}| {n:.1f}/{total} s" if total else "{desc}: {n:.1f} s of speech") as bar:
        def progress(t: float) -> None:
            t = min(t, total) if total else t
            bar.update(round(t - bar.n, 3))

        summary = animate_to_file(stream, args.output, fps=args.fps, style=args.style, seed=args.seed,
                                  wav_path=args.wav, on_progress=progress)
    if args.plot:
        from visage.offline.plot import plot_motion

        plot_motion(summary.motion_path, args.plot)
    if not args.quiet:
        extras = "".join(f" and {p}" for p in (args.plot, args.wav) if p)
        print(f"wrote {summary.motion_path}{extras}: {summary.frames} frames at {args.fps} fps, "
              f"{summary.duration:.2f} s of speech, {summary.sentences} sentence(s)")
    return 0
