"""Command-line options shared by the commands that speak (speak, and later animate, say, ask)."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator

from visage.backends.tts import TTSBackend, create_tts, tts_names
from visage.backends.tts.narration import narrate, requests_for_text, with_detected_emotion
from visage.core.emotion import parse_emotion_strict
from visage.core.types import Emotion, PitchStyle, Sentence, SpeechChunk, SpeechRequest
from visage.errors import InputError

AUTO = "auto"
DEFAULT_INTENSITY = 0.6


def add_voice_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("voice")
    g.add_argument("--lang", default="en", help="language code: en, zh, or any espeak code (see `visage voices`)")
    g.add_argument("--voice", default=None, help="voice name (default, male1..male4, female1..female4 for espeak)")
    g.add_argument("--emotion", default="neutral", type=_emotion,
                   help="neutral, happy, sad, angry, surprised, fearful, disgusted, or auto: read each "
                        "sentence's emotion from its words (default: neutral)")
    g.add_argument("--intensity", default=DEFAULT_INTENSITY, type=_unit_float,
                   help="emotion strength from 0 to 1 (default: 0.6; with --emotion auto it scales the "
                        "strength found, 0.6 keeping it as found)")
    g.add_argument("--emphasis", default="", help="comma-separated words to stress, e.g. 'never,always'")
    g.add_argument("--pitch", default="normal", choices=[s.value for s in PitchStyle], help="pitch register")
    g.add_argument("--tts", default="espeak", help="voice backend: espeak (embedded), piper, openai, gpt-sovits, cosyvoice")
    g.add_argument("--tts-option", action="append", default=[], metavar="KEY=VALUE",
                   help="backend option, repeatable (e.g. base_url=http://127.0.0.1:9880 model_path=voice.onnx)")
    g.add_argument("--fallback", default="espeak",
                   help="voice that keeps speaking if the --tts backend fails ('none' to fail instead)")


def _emotion(value: str) -> Emotion | str:
    if value.strip().lower() == AUTO:
        return AUTO
    try:
        return parse_emotion_strict(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (or auto)") from None


def _unit_float(value: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0.0 <= x <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is outside 0..1")
    return x


def _seed(value: str) -> int:
    try:
        seed = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 0 <= seed < 2**63:
        raise argparse.ArgumentTypeError(f"{seed} is not a whole number from 0 to 2^63-1")
    return seed


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
        text = read_stdin_text()
    if not text.strip():
        raise InputError("nothing to say: the text is empty (give TEXT, or '-' to read standard input)")
    return text


def read_stdin_text() -> str:
    """Standard input as UTF-8 text; binary data (an image, a WAV piped by mistake) is an error, not
    minutes of speech read out of bytes."""
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"standard input is not UTF-8 text (byte {exc.start}); give text, e.g. visage "
                         "speak - -o out.wav < notes.txt") from None
    if "\0" in text:
        raise InputError("standard input holds binary data (NUL bytes), not text")
    return text


def emphasis_words(value: str) -> list[str]:
    return [w.strip() for w in value.replace("，", ",").split(",") if w.strip()]


def add_speech_source_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("text", metavar="TEXT", nargs="?", help="what to say ('-' reads standard input)")
    p.add_argument("--audio", help="use this recorded speech (WAV) instead of speaking TEXT; needs --text")
    p.add_argument("--text", dest="transcript", help="what is said in --audio")


def speech_stream(args: argparse.Namespace) -> tuple[Iterator[SpeechChunk | Sentence], float | None]:
    """The speech the options ask for, as a stream: TEXT spoken by the voice, or --audio timed by the
    aligner against --text; with --emotion auto each sentence is tagged from its words. Also returns
    the speech's length in seconds when it is known up front (a recording)."""
    from visage.core.audio import read_wav
    from visage.offline.animate import recording_stream

    auto = args.emotion == AUTO
    emotion = Emotion.NEUTRAL if auto else args.emotion
    emphasis = emphasis_words(args.emphasis)
    if args.audio:
        if not args.transcript:
            raise InputError("--audio needs --text with what is said in the recording")
        samples, rate = read_wav(args.audio)
        from visage.backends.align import default_aligner

        requests = [SpeechRequest(args.transcript, language=args.lang, emotion=emotion, intensity=args.intensity,
                                  emphasis=tuple(emphasis))]
        if auto:
            requests = list(with_detected_emotion(requests, args.intensity / DEFAULT_INTENSITY))
        return recording_stream(samples, rate, requests[0], default_aligner()), round(len(samples) / rate, 1)
    if args.text is None:
        raise InputError("give TEXT to say, or --audio with --text")
    text = read_text_argument(args.text)
    requests = requests_for_text(text, language=args.lang, voice=args.voice, emotion=emotion,
                                 intensity=args.intensity, emphasis=emphasis, pitch=PitchStyle(args.pitch))
    if auto:
        requests = with_detected_emotion(requests, args.intensity / DEFAULT_INTENSITY)
    return narrate(build_voice(args), requests), None


def video_size(value: str) -> int:
    """A video edge in pixels: even (H.264's 4:2:0 needs it) and within the renderers' range."""
    from visage.backends.renderers.base import SIZES

    try:
        size = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of pixels") from None
    if not SIZES[0] <= size <= SIZES[1] or size % 2:
        raise argparse.ArgumentTypeError(f"{size} is not an even number from {SIZES[0]} to {SIZES[1]}")
    return size


def add_motion_options(p: argparse.ArgumentParser) -> None:
    """--fps, --style and --seed: how the face moves (animate, say, ask)."""
    from visage.core.motion.engine import ALLOWED_FPS
    from visage.core.motion.style import style_names

    p.add_argument("--fps", type=int, default=25, choices=ALLOWED_FPS, help="frames per second (default 25)")
    p.add_argument("--style", default="friendly",
                   help=f"motion style: {', '.join(style_names())}, or a .yaml file (default friendly)")
    p.add_argument("--seed", type=_seed, default=0, help="seed for blinks, gaze and idle motion (deterministic)")
