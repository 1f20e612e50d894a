"""The `visage` command: a thin layer over the library. Each subcommand lives in its own module."""
from __future__ import annotations

import argparse
import logging
import sys

from visage import __version__
from visage.errors import VisageError
from visage.offline.files import Terminated, sigterm_as_interrupt

DESCRIPTION = """\
visage: a conversational digital human that runs on an ordinary CPU.

Start here:
  visage speak "Hello! Nice to meet you." -o hello.wav --emotion happy
  visage speak "你好，很高兴见到你。" --lang zh -o nihao.wav --timings nihao.json
  visage animate "Did you see that?" -o motion.json --plot motion.png
                                     face and head motion (ARKit-52 + head pose) for 3D clients
  visage voices                      list languages and voices of the embedded voice
  visage transcribe question.wav     what is said in a recording, with word timings

Every command works offline with the embedded voice (libespeak-ng); stronger voices
(Piper, GPT-SoVITS, CosyVoice, OpenAI-compatible servers) plug in with --tts.
Run `visage COMMAND --help` for the details of a command.
"""


def build_parser() -> argparse.ArgumentParser:
    from visage.cli import animate, avatar, batch, broadcast, chat, say, serve, speak, transcribe, voices

    parser = argparse.ArgumentParser(
        prog="visage", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"visage {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens, for debugging")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    speak.add_parser(commands)
    animate.add_parser(commands)
    say.add_parser(commands)
    batch.add_parser(commands)
    chat.add_parsers(commands)
    chat.add_ask_parser(commands)
    voices.add_parser(commands)
    avatar.add_parser(commands)
    serve.add_parser(commands)
    transcribe.add_parser(commands)
    broadcast.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    try:
        with sigterm_as_interrupt():  # so SIGTERM cleans up temporary files as Ctrl-C does
            return args.run(args) or 0
    except VisageError as exc:
        print(f"visage: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        stopped = isinstance(exc, Terminated)
        print(f"visage: stopped by {exc.args[0]}" if stopped else "visage: interrupted", file=sys.stderr)
        return exc.exit_code if stopped else 130
    except OSError as exc:  # the system refused (disk full, I/O error...): say so, without a traceback
        if args.verbose:
            raise
        print(f"visage: error: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""),
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
