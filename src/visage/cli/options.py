"""Command-line options shared by the commands that speak (speak, and later animate, say, ask)."""
from __future__ import annotations

import argparse
import sys

from visage.backends.tts import TTSBackend, create_tts, tts_names
from visage.core.emotion import parse_emotion_strict
from visage.core.types import Emotion, PitchStyle
from visage.errors import InputError

MAX_TEXT_ARG_CHARS = 100_000


def add_voice_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("voice")
    g.add_argument("--lang", default="en", help="language code: en, zh, or any espeak code (see `visage voices`)")
    g.add_argument("--voice", default=None, help="voice name (default, male1..male4, female1..female4 for espeak)")
    g.add_argument("--emotion", default="neutral", type=_emotion,
                   help="neutral, happy, sad, angry, surprised, fearful or disgusted (default: neutral)")
    g.add_argument("--intensity", default=0.6, type=_unit_float, help="emotion strength from 0 to 1 (default: 0.6)")
    g.add_argument("--emphasis", default="", help="comma-separated words to stress, e.g. 'never,always'")
    g.add_argument("--pitch", default="normal", choices=[s.value for s in PitchStyle], help="pitch register")
    g.add_argument("--tts", default="espeak", help="voice backend: espeak (embedded), piper, openai, gpt-sovits, cosyvoice")
    g.add_argument("--tts-option", action="append", default=[], metavar="KEY=VALUE",
                   help="backend option, repeatable (e.g. base_url=http://127.0.0.1:9880 model_path=voice.onnx)")
    g.add_argument("--fallback", default="espeak",
                   help="voice that keeps speaking if the --tts backend fails ('none' to fail instead)")


def _emotion(value: str) -> Emotion:
    try:
        return parse_emotion_strict(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _unit_float(value: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0.0 <= x <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is outside 0..1")
    return x


def parse_backend_options(pairs: list[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--tts-option expects KEY=VALUE, got {pair!r}")
        options[key.strip()] = value
    return options


def build_voice(args: argparse.Namespace) -> TTSBackend:
    """The voice the options ask for, wrapped with the fallback voice unless --fallback none."""
    if args.tts not in tts_names():
        raise InputError(f"unknown voice backend {args.tts!r}; choose one of: {', '.join(tts_names())}")
    tts = create_tts(args.tts, **parse_backend_options(args.tts_option))
    if args.fallback.lower() != "none" and args.fallback != args.tts:
        from visage.backends.tts.fallback import with_fallback

        tts = with_fallback(tts, create_tts(args.fallback))
    return tts


def read_text_argument(text: str) -> str:
    """TEXT, or the contents of standard input when TEXT is '-'; empty text is an error."""
    if text == "-":
        text = sys.stdin.read()
    if not text.strip():
        raise InputError("nothing to say: the text is empty (give TEXT, or '-' to read standard input)")
    return text


def emphasis_words(value: str) -> list[str]:
    return [w.strip() for w in value.replace("，", ",").split(",") if w.strip()]
