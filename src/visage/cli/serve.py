"""`visage serve`: the web page and API where people talk with the avatar (see visage.server.app)."""
from __future__ import annotations

import argparse
import logging
import os

from visage.backends.asr import DEFAULT_ASR, asr_names
from visage.cli.brain_options import add_brain_options, api_key, read_secret_file, warn_visible
from visage.cli.options import add_size_option, argument, from_flags
from visage.config.settings import DEFAULT_FPS, DEFAULT_LANGUAGE, DEFAULT_STYLE, LIVE_FPS, LiveFps, load_settings
from visage.core.motion.style import style_names
from visage.core.types import PitchStyle
from visage.errors import InputError
from visage.server.access import Access, Limits, default_max_drawn_sessions, default_max_sessions, is_loopback

EXAMPLES = """\
examples:
  visage serve                                   then open http://127.0.0.1:8000 and press Start
  visage serve --avatar anna --style lively --size 384     (anna speaks with the voice stored with her)
  visage serve --brain openai --base-url http://127.0.0.1:11434/v1 --model qwen2.5
  visage serve --host 0.0.0.0 --ssl-certfile cert.pem --ssl-keyfile key.pem    (phones on the LAN; prints
                                             the address with its access token, ?token=...)
  visage serve --lang zh --asr funasr --asr-model ~/models/SenseVoiceSmall       (Chinese speech)
  visage serve --end-silence 0.6             (answer later, for speakers who pause a lot)
  visage serve --config visage.yaml          (defaults from a file: "size: 384", "brain: openai", ...)
  visage serve --workers auto                (conversations in one process per core: more of them at once)

The page needs a secure origin for the microphone: http://localhost / 127.0.0.1 on the same machine,
or https:// from other devices (give --ssl-certfile and --ssl-keyfile); without it, people can still
type. Media flows over direct WebRTC connections (UDP, no STUN or TURN), so browsers must reach this
machine directly: the same machine or the same network.

Beyond the loopback a token is asked (generated and printed unless --token-file or $VISAGE_TOKEN gives
one); pages choose brains, knowledge bases and styles by the names the operator gives (--config's
`offer:` section), never by a URL or a path. See the README's "Deploying" section.

Besides the page: GET /health (state), GET /api/options, POST /api/avatars (photo upload),
and WS /ws/motion, which streams face frames (ARKit-52 blendshapes, head, gaze) and audio as JSON
for clients that draw their own avatar (three.js, VRM, game engines).
"""


def add_parser(commands) -> None:
    p = commands.add_parser(
        "serve", help="start the web page where people talk with the avatar (WebRTC), and its API",
        description="Serve the conversation page, WebRTC sessions, motion streaming and avatar uploads.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    net = p.add_argument_group("network")
    net.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine "
                                                         "only; 0.0.0.0 for every network)")
    net.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    net.add_argument("--ssl-certfile", metavar="PEM", help="TLS certificate: serve https (needed for microphones "
                                                           "on other devices)")
    net.add_argument("--ssl-keyfile", metavar="PEM", help="the certificate's private key")
    net.add_argument("--max-sessions", type=int, default=None, metavar="N",
                     help="refuse new conversations while N run, so the running ones stay real time (default: one "
                          f"per CPU core, {default_max_sessions()} here; 0: no limit)")
    net.add_argument("--max-drawn-sessions", type=int, default=None, metavar="N",
                     help="the same for conversations the browser draws (no video made here; default: 8 per "
                          f"CPU core, {default_max_drawn_sessions()} here; 0: no limit)")
    net.add_argument("--workers", default="1", metavar="N",
                     help="processes that hold the conversations (each with its own models and recogniser): one "
                          "Python process saturates near one core, so several let browser-drawn conversations use "
                          f"every core; auto: one per core ({os.cpu_count()} here); default 1: all in this process")
    net.add_argument("--no-priority", dest="priority", action="store_false",
                     help="keep the default scheduling priority (by default the server raises its own to nice -8 "
                          "where it is allowed, so replies stay fast on a busy machine)")
    net.add_argument("--idle-timeout", type=float, default=15.0, metavar="MIN",
                     help="end a conversation after MIN minutes in which nothing was said or typed (0: never; "
                          "default 15)")
    a = p.add_argument_group("access (see the README's Deploying section)")
    a.add_argument("--token-file", metavar="FILE", help="the access token pages and API clients must give, read "
                                                         "from FILE (default: $VISAGE_TOKEN; beyond the loopback "
                                                         "one is generated and printed)")
    a.add_argument("--token", help=argparse.SUPPRESS)  # visible in `ps`: --token-file or $VISAGE_TOKEN instead
    a.add_argument("--no-token", action="store_true", help="ask no token even beyond the loopback (only behind a "
                                                          "proxy that authenticates)")
    a.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                   help="a host name the server answers to besides its address (e.g. avatar.example.org behind "
                        "a proxy); repeatable. Loopback binds answer to localhost/127.0.0.1 only")
    a.add_argument("--cors-origin", action="append", default=[], metavar="URL",
                   help="another site whose pages may call the API (e.g. https://app.example.org); repeatable; "
                        "default: none")
    lim = p.add_argument_group("limits (per client address)")
    lim.add_argument("--offers-per-minute", type=int, default=Limits.offers_per_minute, metavar="N",
                     help=f"new conversations a client may start per minute (default {Limits.offers_per_minute})")
    lim.add_argument("--messages-per-minute", type=int, default=Limits.messages_per_minute, metavar="N",
                     help=f"typed turns and motion `say` requests per minute (default {Limits.messages_per_minute})")
    lim.add_argument("--max-text", type=int, default=Limits.max_say_chars, metavar="CHARS",
                     help=f"characters of one motion `say` (default {Limits.max_say_chars}; a typed turn: "
                          f"{Limits.max_text_chars})")
    d = add_brain_options(p, "defaults for each conversation (the page's settings override them)")
    d.add_argument("--config", metavar="FILE.yaml",
                   help="these defaults from a YAML file, by the page's setting names (brain, model, knowledge, "
                        "language, voice, style, size, fps, vad_silence...), and in its `offer:` section the named "
                        "brains, knowledge bases and styles pages may choose; flags override it")
    d.add_argument("--persona", help="who the avatar is, in a sentence or two, for the brain")
    d.add_argument("--avatar", metavar="NAME", help="a saved avatar (see `visage avatar`; default: the built-in one)")
    d.add_argument("--lang", dest="language",
                   help=f"language of the conversation: en or zh (default {DEFAULT_LANGUAGE})")
    d.add_argument("--tts", choices=["auto", "neural", "espeak"],
                   help="voice backend for every conversation: auto (default: the neural voice for English, "
                        "espeak for other languages), neural, or espeak (the old formant voice: the lightest)")
    d.add_argument("--voice", help="voice name for every conversation, over each avatar's own (see `visage voices`; "
                                   "default: the avatar's stored voice, else joe-female)")
    d.add_argument("--pitch", choices=[s.value for s in PitchStyle],
                   help="pitch register for every conversation, over each avatar's own (default: the avatar's "
                        "stored pitch, else normal)")
    d.add_argument("--style", help=f"motion style: {', '.join(style_names())} (default {DEFAULT_STYLE})")
    add_size_option(d, default=None)
    d.add_argument("--fps", type=argument(LiveFps), help=f"video frames per second: {' or '.join(map(str, LIVE_FPS))} "
                                                           f"(default {DEFAULT_FPS})")
    r = p.add_argument_group("speech recognition (one model for the whole server, in its own process)")
    r.add_argument("--asr", default=DEFAULT_ASR, choices=asr_names(),
                   help="whisper (default: Whisper base, installed with visage, English, Chinese and more), "
                        "pocketsphinx (light, English only, less accurate), faster-whisper (Whisper with "
                        "--asr-model) or funasr (SenseVoice; extra 'visage[funasr]')")
    r.add_argument("--asr-model", metavar="DIR",
                   help="your own Whisper (CTranslate2) or FunASR model: a local directory, or a name they download")
    r.add_argument("--asr-device", metavar="DEVICE", help="cpu (default) or cuda for faster-whisper and FunASR")
    t = p.add_argument_group("turn-taking (how soon the avatar answers)")
    t.add_argument("--end-silence", dest="vad_silence", type=float, metavar="S",
                   help="seconds of silence that end the user's turn (default 0.4). Shorter answers sooner; "
                        "too short and a pause for breath ends the turn")
    t.add_argument("--unfinished-hold", type=float, metavar="S",
                   help="seconds more to wait when the user's words stop on 'and', 'the', 'um'... "
                        "(default 0.5; 0 never waits)")
    t.add_argument("--no-prepare-reply", dest="prepare_reply", action="store_const", const=False,
                   help="do not ask the brain for a reply before the user's turn has ended (by default the "
                        "reply is prepared from the words heard at the first pause and said at once if the "
                        "turn ends with them: sooner answers, but a remote LLM may be asked for a reply "
                        "that is thrown away)")
    p.set_defaults(run=run)


def defaults_from(args: argparse.Namespace) -> dict:
    """The LiveOptions fields the flags set (unset flags keep LiveOptions' own defaults)."""
    fields = ("brain", "base_url", "model", "api_key", "knowledge", "persona", "avatar", "language", "tts", "voice",
              "pitch", "style", "size", "fps", "vad_silence", "unfinished_hold", "prepare_reply")
    chosen = {f: getattr(args, f) for f in fields if getattr(args, f, None) is not None}
    key = api_key(args)
    return {**chosen, "api_key": key} if key else chosen


def conversation_defaults(args: argparse.Namespace) -> dict:
    """The checked LiveOptions fields set by --config's file and the flags (flags win)."""
    from visage.live.options import LiveOptions

    from visage.config.speaker import offered_voices, resolve_speaker

    chosen = defaults_from(args)
    if args.config:
        options = load_settings(LiveOptions, args.config, skip=("offer",), **chosen)
        fields = set(chosen) | set(options.model_fields_set)
    else:
        options, fields = from_flags(LiveOptions, **chosen), set(chosen)
    resolve_speaker({}, options.voice, None, offered_voices(options.tts))  # a wrong --voice: said now, not per session
    return options.model_dump(include=fields)


def offer_from(args: argparse.Namespace):
    """The named choices of --config's `offer:` section (none without a file)."""
    from visage.server.catalog import OfferSettings

    return load_settings(OfferSettings, args.config, section="offer") if args.config else OfferSettings()


def access_from(args: argparse.Namespace) -> Access:
    """The token (a file, $VISAGE_TOKEN, the hidden --token, or generated beyond the loopback) and the
    Host and Origin rules."""
    token = args.token
    if args.token is not None:
        warn_visible("--token", "--token-file or $VISAGE_TOKEN")
    if args.token_file:
        token = read_secret_file(args.token_file, "token")
    token = token or os.environ.get("VISAGE_TOKEN") or None
    if token is not None and len(token) < 16:
        raise InputError("the access token must be at least 16 characters (e.g. `openssl rand -hex 16`)")
    return Access.for_bind(args.host, token, args.no_token, tuple(args.allowed_host), tuple(args.cors_origin))


def asr_options_from(args: argparse.Namespace) -> dict:
    """The recogniser's options the flags set; pocketsphinx takes none of them."""
    options = {"model": args.asr_model, "device": args.asr_device}
    chosen = {k: v for k, v in options.items() if v is not None}
    if chosen and args.asr == "pocketsphinx":
        raise InputError("--asr-model and --asr-device are for faster-whisper and funasr; pocketsphinx uses "
                         "its bundled English model")
    return chosen


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from visage.server.app import create_app
    except ImportError as exc:
        raise InputError(f"visage serve needs the server packages ({exc.name} is missing); "
                         "install them with: pip install 'visage[live]'") from None
    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        raise InputError("give both --ssl-certfile and --ssl-keyfile for https, or neither")
    from visage.live.services import LiveServices
    from visage.server.priority import raise_priority

    if args.priority:  # before any worker or thread starts: they inherit it
        _, refused = raise_priority()
        if refused:
            print(f"visage: note: {refused}")

    defaults = conversation_defaults(args)  # checked before anything loads
    offer, access = offer_from(args), access_from(args)
    from visage.server.workers import resolve_workers

    workers = resolve_workers(args.workers)
    limits = Limits(offers_per_minute=args.offers_per_minute, messages_per_minute=args.messages_per_minute,
                    max_say_chars=max(1, args.max_text))
    services = LiveServices(asr=args.asr, asr_options=asr_options_from(args))
    if args.asr != "pocketsphinx":  # a model that may be missing or damaged: said now, not per session
        print(f"visage: loading the {args.asr} recogniser ...")
        services.asr()
        if workers > 1:  # checked; the workers load their own
            services.close()
    app = create_app(services, defaults=defaults, idle_timeout=max(0.0, args.idle_timeout) * 60,
                     max_sessions=None if args.max_sessions is None else max(0, args.max_sessions),
                     access=access, limits=limits, offer=offer, workers=workers,
                     max_drawn_sessions=None if args.max_drawn_sessions is None else max(0, args.max_drawn_sessions))
    scheme = "https" if args.ssl_certfile else "http"
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    query = f"/?token={access.token}" if access.token else ""
    print(f"visage: open {scheme}://{shown}:{args.port}{query} in a browser (Ctrl+C stops the server)")
    if not is_loopback(args.host) and access.token is None:
        print("visage: warning: no access token: anyone who reaches this address can use the server")
    if scheme == "http" and not is_loopback(args.host):
        print("visage: note: browsers allow the microphone only on https or localhost; other devices can "
              "type, or serve with --ssl-certfile/--ssl-keyfile")
    uvicorn.run(app, host=args.host, port=args.port, ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile,
                log_level="info" if logging.getLogger().isEnabledFor(logging.INFO) else "warning",
                timeout_graceful_shutdown=5, ws_max_size=WS_MAX_BYTES, h11_max_incomplete_event_size=64 * 1024)
    return 0


WS_MAX_BYTES = 256 * 1024  # one WebSocket message (a `say` of --max-text characters is far smaller)
