"""Command-line options shared by the commands that speak (speak, animate, say, ask, chat).

The flags' values are checked by visage.config's rules (the same the server and pages obey) and
gathered into its typed settings; nothing past this module sees an argparse namespace."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator

from pydantic import BaseModel, ValidationError

from visage.backends.tts.narration import narrate, requests_for_text, with_detected_emotion
from visage.config import build_voice
from visage.config.settings import (DEFAULT_FALLBACK, DEFAULT_FPS, DEFAULT_LANGUAGE, DEFAULT_SIZE, DEFAULT_STYLE,
                                    DEFAULT_TTS, SIZES, Fps, VideoSize, VoiceSettings, check, describe)
from visage.core.emotion import parse_emotion_strict
from visage.core.motion.engine import ALLOWED_FPS
from visage.core.types import Emotion, PitchStyle, Sentence, SpeechChunk, SpeechRequest
from visage.errors import InputError

AUTO = "auto"
DEFAULT_INTENSITY = 0.6


def add_voice_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("voice")
    g.add_argument("--lang", default=DEFAULT_LANGUAGE,
                   help="language code: en, zh, or any espeak code (see `visage voices`)")
    g.add_argument("--voice", default=None,
                   help="voice name: joe-female (the default, neural), joe (neural, male), or an espeak variant "
                        "male1..male4, female1..female4 (see `visage voices`)")
    g.add_argument("--emotion", default="neutral", type=_emotion,
                   help="neutral, happy, sad, angry, surprised, fearful, disgusted, or auto: read each "
                        "sentence's emotion from its words (default: neutral)")
    g.add_argument("--intensity", default=DEFAULT_INTENSITY, type=_unit_float,
                   help="emotion strength from 0 to 1 (default: 0.6; with --emotion auto it scales the "
                        "strength found, 0.6 keeping it as found)")
    g.add_argument("--emphasis", default="", help="comma-separated words to stress, e.g. 'never,always'")
    g.add_argument("--pitch", default=None, choices=[s.value for s in PitchStyle],
                   help="pitch register (default: the avatar's stored pitch, else normal)")
    g.add_argument("--tts", default=DEFAULT_TTS,
                   help="voice backend: auto (default: the neural voice for English, espeak for other languages), "
                        "neural, espeak (the old formant voice), piper (your own model), openai, gpt-sovits, cosyvoice")
    g.add_argument("--tts-option", action="append", default=[], metavar="KEY=VALUE",
                   help="backend option, repeatable (e.g. base_url=http://127.0.0.1:9880 model_path=voice.onnx)")
    g.add_argument("--fallback", default=DEFAULT_FALLBACK,
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


def whole_number(low: int, high: int, what: str):
    """An argparse type for a whole number in [low, high]; `what` names the range in the error."""
    def parse(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if not low <= n <= high:
            raise argparse.ArgumentTypeError(f"{n} is not {what}")
        return n
    return parse


_seed = whole_number(0, 2**63 - 1, "a whole number from 0 to 2^63-1")


def parse_backend_options(pairs: list[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--tts-option expects KEY=VALUE, got {pair!r}")
        options[key.strip()] = value
    return options


FLAG_OF = {"language": "--lang", "tts_options": "--tts-option", "vad_silence": "--end-silence"}


def from_flags(settings: type[BaseModel], /, **values):
    """Settings made from flags' values (None: the setting's default), refused in the flags' own words
    ("--size: ..."); the rules are the settings', see visage.config.settings."""
    try:
        return settings(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        flags = {f: FLAG_OF.get(f, "--" + f.replace("_", "-")) for f in settings.model_fields}
        raise InputError(f"invalid setting: {describe(exc, flags)}") from None


def voice_settings(args: argparse.Namespace) -> VoiceSettings:
    return from_flags(VoiceSettings, tts=args.tts, tts_options=parse_backend_options(args.tts_option),
                      fallback=args.fallback, voice=args.voice, language=args.lang)


def avatar_info(name: str | None) -> dict | None:
    """A saved avatar's analysis record (its stored voice and pitch among it); None without one, or for
    the built-in one before its first use (a missing name is reported where the avatar is loaded)."""
    if not name:
        return None
    from visage.backends.renderers.avatar_store import AvatarStore

    store = AvatarStore()
    return store.info(name) if store.exists(name) else None


def take_avatar_voice(args: argparse.Namespace, info: dict | None, warn=None) -> None:
    """Set --voice and --pitch to whom the avatar (its analysis record `info`) speaks with unless the
    flags chose them: the flag > the avatar's stored one > the default (config/speaker.py); a stored
    voice the --tts backend does not offer is told to `warn` and the default voice speaks."""
    from visage.config.speaker import offered_voices, resolve_speaker

    speaker = resolve_speaker(info, args.voice, args.pitch,
                              offered_voices(args.tts, parse_backend_options(args.tts_option)),
                              f"the avatar {getattr(args, 'avatar', None) or 'default'!r}")
    if speaker.warning and warn is not None:
        warn(speaker.warning)
    args.voice, args.pitch = speaker.voice, speaker.pitch.value


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
    p.add_argument("--audio", help="use this recorded speech (WAV) instead of speaking TEXT")
    p.add_argument("--text", dest="transcript",
                   help="what is said in --audio (default: recognised from it, in --lang, by Whisper)")


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
        samples, rate = read_wav(args.audio)
        if not args.transcript:
            from visage.offline.transcribe import transcript_of_recording

            args.transcript = transcript_of_recording(samples, rate, args.lang)
            if not getattr(args, "quiet", False):
                print(f"heard: {args.transcript}", file=sys.stderr)
        from visage.backends.align import default_aligner

        requests = [SpeechRequest(args.transcript, language=args.lang, emotion=emotion, intensity=args.intensity,
                                  emphasis=tuple(emphasis))]
        if auto:
            requests = list(with_detected_emotion(requests, args.intensity / DEFAULT_INTENSITY))
        return recording_stream(samples, rate, requests[0], default_aligner()), round(len(samples) / rate, 1)
    if args.text is None:
        raise InputError("give TEXT to say, or --audio with a recording")
    from visage.backends.tts.read_ahead import read_ahead

    voice = build_voice(voice_settings(args))
    return read_ahead(narrate(voice, text_requests(args, read_text_argument(args.text)))), None


def text_requests(args: argparse.Namespace, text: str) -> Iterator[SpeechRequest]:
    """TEXT as the voice options' speech requests, sentence by sentence; tagged from its words with
    --emotion auto."""
    auto = args.emotion == AUTO
    requests = requests_for_text(text, language=args.lang, voice=args.voice,
                                 emotion=Emotion.NEUTRAL if auto else args.emotion, intensity=args.intensity,
                                 emphasis=emphasis_words(args.emphasis), pitch=PitchStyle(args.pitch or "normal"))
    return with_detected_emotion(requests, args.intensity / DEFAULT_INTENSITY) if auto else requests


def argument(rule):
    """An argparse `type` that checks a flag by one of visage.config's rules (a refusal exits with 2)."""
    def convert(value: str):
        try:
            return check(rule, value)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = getattr(rule, "__name__", "value")
    return convert


def add_size_option(p, default: int | None = DEFAULT_SIZE) -> None:
    p.add_argument("--size", type=argument(VideoSize), default=default,
                   help=f"video width and height in pixels, even, {SIZES[0]}..{SIZES[1]} (default {DEFAULT_SIZE})")


def add_motion_options(p: argparse.ArgumentParser) -> None:
    """--fps, --style and --seed: how the face moves (animate, say, ask)."""
    from visage.core.motion.style import style_names

    p.add_argument("--fps", type=argument(Fps), default=DEFAULT_FPS,
                   help=f"frames per second: {', '.join(map(str, ALLOWED_FPS))} (default {DEFAULT_FPS})")
    p.add_argument("--style", default=DEFAULT_STYLE,
                   help=f"motion style: {', '.join(style_names())}, or a .yaml file (default {DEFAULT_STYLE})")
    p.add_argument("--seed", type=_seed, default=0, help="seed for blinks, gaze and idle motion (deterministic)")
