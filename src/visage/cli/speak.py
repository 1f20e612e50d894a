"""`visage speak`: text to a WAV file (and its phoneme and word timings), offline by default."""
from __future__ import annotations

import argparse

from tqdm import tqdm

from visage.cli.options import add_voice_options, read_text_argument, text_requests, voice_settings
from visage.config import build_voice
from visage.offline.files import check_outputs
from visage.offline.speak import speak_to_files

EXAMPLES = """\
examples:
  visage speak "Hello! Nice to meet you." -o hello.wav
  visage speak "I can't believe it!" --emotion surprised --intensity 0.9 -o wow.wav
  visage speak "It was NEVER my idea." --emphasis never -o never.wav --timings never.json
  visage speak "你好，很高兴见到你。" --lang zh --voice female2 -o nihao.wav
  visage speak - -o book.wav < book.txt        (long text streams with bounded memory)

The timings file holds {"sample_rate", "duration", "phonemes": [{"symbol","start","end"}...],
"words": [{"text","start","end",...}...], "sentences": [...]} with times in seconds.
"""


def add_parser(commands) -> None:
    p = commands.add_parser(
        "speak", help="speak text into a WAV file, with emotion and timings",
        description="Speak TEXT into a WAV file. Long text is split into sentences and streamed.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("text", metavar="TEXT", help="what to say ('-' reads standard input)")
    p.add_argument("-o", "--output", required=True, help="the WAV file to write")
    p.add_argument("--timings", default=None, metavar="T.json", help="also write phoneme and word timings here")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    add_voice_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_outputs([args.output, args.timings])
    text = read_text_argument(args.text)
    tts = build_voice(voice_settings(args))
    requests = text_requests(args, text)
    show = not args.quiet and len(text) > 400
    with tqdm(total=len(text), unit="char", desc="speaking", disable=not show, leave=False) as bar:
        summary = speak_to_files(
            tts, requests, args.output, args.timings, on_sentence=lambda s: bar.update(len(s.text) + 1)
        )
    if not args.quiet:
        extra = f" and {summary.timings_path}" if summary.timings_path else ""
        print(f"wrote {summary.wav_path}{extra}: {summary.duration:.2f} s of speech, "
              f"{summary.sentences} sentence(s), {summary.sample_rate} Hz")
    return 0
