"""`visage transcribe`: recordings to text with word timings, offline."""
from __future__ import annotations

import argparse
import json
import sys

from tqdm import tqdm

EXAMPLES = """\
examples:
  visage transcribe question.wav
  visage transcribe talk.mp3 --lang zh
  visage transcribe recordings/*.wav --json > transcripts.jsonl
  visage transcribe take1.wav --asr pocketsphinx          (light, English only, no word timings)

Prints each file's transcript, then its words with their start and end in seconds. --json prints one
JSON object per file and line instead: {"file", "language", "duration", "text", "words": [{"text",
"start", "end", "probability"}]} (or {"file", "error"}). The recogniser loads once for all files; a
file that fails is reported and the others go on; the exit status is 0 only when every file worked.
The default recogniser is Whisper base, installed with visage (no download).
"""


def add_parser(commands) -> None:
    from visage.backends.asr import DEFAULT_ASR, asr_names

    p = commands.add_parser(
        "transcribe", help="recognise what is said in recordings, with word timings",
        description="Transcribe FILEs (WAV; MP3, M4A, OGG and video through PyAV) with word timings.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", metavar="FILE", nargs="+", help="recordings to transcribe")
    p.add_argument("--lang", default="en", help="language spoken: en, zh, ... or auto to detect it (default en)")
    p.add_argument("--json", action="store_true", help="one JSON object per file and line")
    p.add_argument("--asr", default=DEFAULT_ASR, choices=asr_names(), help=f"recogniser (default {DEFAULT_ASR})")
    p.add_argument("--asr-model", metavar="DIR", help="your own Whisper (CTranslate2) or FunASR model directory")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from visage.backends.asr import create_asr
    from visage.offline.transcribe import transcribe_files, transcript_record

    recognizer = create_asr(args.asr, **({"model": args.asr_model} if args.asr_model else {}))
    recognizer.load()
    failed = 0
    show_bar = len(args.files) > 1 and not args.quiet
    with tqdm(total=len(args.files), unit="file", desc="transcribing", disable=not show_bar, leave=False) as bar:
        for result in transcribe_files(recognizer, args.files, args.lang):
            bar.update(1)
            failed += result.error is not None
            if result.error is not None:
                tqdm.write(f"visage: error: {result.path}: {result.error}", file=sys.stderr)
                if args.json:
                    print(json.dumps(transcript_record(result), ensure_ascii=False), flush=True)
            elif args.json:
                print(json.dumps(transcript_record(result), ensure_ascii=False), flush=True)
            else:
                print(format_transcript(result), flush=True)
    recognizer.close()
    return 1 if failed else 0


def format_transcript(result) -> str:
    t = result.transcript
    lines = [f"{result.path} ({t.language}, {t.duration:.2f} s): {t.text}"]
    lines += [f"  {w.start:7.2f} {w.end:7.2f}  {w.text}" for w in t.words]
    return "\n".join(lines)
