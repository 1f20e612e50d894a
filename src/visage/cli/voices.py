"""`visage voices`: what the voice backends can speak, in which languages, under which licence."""
from __future__ import annotations

import argparse
import textwrap

from visage.backends.tts import create_tts, tts_names


def add_parser(commands) -> None:
    p = commands.add_parser("voices", help="list voices, their languages and licences",
                            description="List the neural voices (the default for English), the espeak voices and "
                                        "languages, and the voice backends. Pick one with --voice NAME; "
                                        "--tts espeak keeps the formant voice for everything.")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from visage.backends.tts.catalogue import DEFAULT_VOICE, VOICES

    espeak = create_tts("espeak")
    print("voice backends: " + ", ".join(tts_names()) + "  (select with --tts; auto is the default)")
    print("\nneural voices (English; Piper, offline, from installed packages):")
    for spec in VOICES.values():
        mark = "  (default)" if spec.name == DEFAULT_VOICE else ""
        print(f"  {spec.name:<11} {spec.language:<6} {spec.description}{mark}")
        print(f"  {'':<11} {'':<6} package {spec.pip_name}; {spec.licence}")
    print("\nespeak voices (any language; libespeak-ng, GPL-3.0): " + ", ".join(espeak.voices()))
    print("espeak languages (every language without a neural voice is spoken by espeak):")
    print(textwrap.fill(", ".join(espeak.languages()), width=100, initial_indent="  ", subsequent_indent="  "))
    return 0
