"""`visage voices`: what the voice backends can speak."""
from __future__ import annotations

import argparse
import textwrap

from visage.backends.tts import create_tts, tts_names


def add_parser(commands) -> None:
    p = commands.add_parser("voices", help="list voice backends, languages and voices",
                            description="List the voice backends, and the languages and voices of the embedded one.")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    espeak = create_tts("espeak")
    print("voice backends: " + ", ".join(tts_names()) + "  (select with --tts; espeak is embedded)")
    print("espeak voices (any language): " + ", ".join(espeak.voices()))
    print("espeak languages:")
    print(textwrap.fill(", ".join(espeak.languages()), width=100, initial_indent="  ", subsequent_indent="  "))
    return 0
