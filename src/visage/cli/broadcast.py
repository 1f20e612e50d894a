"""`visage broadcast`: a live host streaming over RTMP, saying a script and answering questions."""
from __future__ import annotations

import argparse
import sys

from visage.cli.brain_options import add_brain_options, brain_settings
from visage.cli.options import add_motion_options, add_size_option, add_voice_options, from_flags, text_requests
from visage.cli.options import voice_settings as voice_settings_of
from visage.config.settings import VideoSettings
from visage.errors import InputError

EXAMPLES = """\
examples:
  visage broadcast --rtmp rtmp://127.0.0.1/live/show --script lines.txt --loop
  visage broadcast --rtmp rtmp://a.rtmp.youtube.com/live2/KEY --script shop.txt --loop \\
      --control 127.0.0.1:8765 --knowledge products.yaml --avatar anna
  visage broadcast --rtmp rtmp://127.0.0.1/live/show --stdin        (type lines; /ask QUESTION asks)

While it runs (with --control 127.0.0.1:8765):
  curl -d '{"text": "Welcome, everyone who just joined!"}' 127.0.0.1:8765/say
  curl -d '{"text": "How long does the battery last?"}' 127.0.0.1:8765/ask     (the brain answers)
  curl 127.0.0.1:8765/status

The stream is FLV with H.264 (ultrafast, zerolatency, a keyframe every 2 s) and stereo 48 kHz AAC at a
constant frame rate; audio samples are the clock, so audio and video never drift apart. Lines sent
while it runs go before the script's next line. If the server goes away it reconnects (waits doubling
from 0.5 s to 10 s) and says so on stderr; lines wait meanwhile, none is said into the void.
Ctrl-C stops it cleanly.
"""


def add_parser(commands) -> None:
    p = commands.add_parser(
        "broadcast", help="stream the avatar live over RTMP: a script, lines and questions while it runs",
        description="Stream a talking portrait live to an RTMP server (nginx-rtmp, SRS, OBS, YouTube, "
                    "Twitch...): it says a script's lines and the lines and questions sent to it, and "
                    "between lines it lives (blinks, breathes, looks around).",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rtmp", required=True, metavar="URL", help="where to publish: rtmp://HOST[:PORT]/APP/KEY")
    p.add_argument("--script", metavar="FILE", help="a text file: one line after another (# comments skipped)")
    p.add_argument("--loop", action="store_true", help="repeat the script forever")
    p.add_argument("--pause", type=_seconds, default=1.0, help="seconds of silence between lines (default 1)")
    p.add_argument("--control", metavar="HOST:PORT", help="HTTP endpoint for POST /say, POST /ask, GET /status "
                                                          "(loopback only, e.g. 127.0.0.1:8765)")
    p.add_argument("--stdin", action="store_true", help="read lines from standard input (/ask QUESTION asks)")
    p.add_argument("--duration", type=_seconds, default=None,
                   help="stop after this many seconds of stream (default: run until Ctrl-C, or until the "
                        "script ends when nothing else can send lines)")
    p.add_argument("--video-bitrate", type=int, default=None, metavar="BITS",
                   help="H.264 bit rate in bit/s (default 1500000)")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--avatar", metavar="NAME", help="a saved avatar (default: the built-in portrait)")
    who.add_argument("--portrait", metavar="PHOTO", help="a photo of a face, analysed now and not saved")
    add_size_option(p)
    add_motion_options(p)
    add_voice_options(p)
    add_brain_options(p, "brain (answers POST /ask and /ask lines)")
    p.set_defaults(run=run)


def _seconds(value: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not 0 <= x < 1e7:
        raise argparse.ArgumentTypeError(f"{value} is not a number of seconds from 0")
    return x


def _say(message: str) -> None:
    print(f"visage broadcast: {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from visage.backends.llm.base import Conversation
    from visage.backends.llm.chat import Chat
    from visage.config import build_brain, build_voice
    from visage.config.builders import build_renderer
    from visage.core.motion.engine import MotionEngine
    from visage.live.broadcast.control import ControlServer, parse_address, read_stdin_lines
    from visage.live.broadcast.host import BroadcastHost, line_speaker
    from visage.live.broadcast.lines import LineQueue, Script, Speaker
    from visage.live.broadcast.rtmp import VIDEO_BIT_RATE, RtmpSender, StreamFormat, check_url
    from visage.live.broadcast.timeline import AUDIO_RATE, Timeline

    # every check before any model loads or any connection opens
    url = check_url(args.rtmp)
    video = from_flags(VideoSettings, size=args.size, fps=args.fps, style=args.style, seed=args.seed,
                       avatar=args.avatar, portrait=args.portrait)
    if video.fps not in (25, 30):
        raise InputError(f"--fps: a live stream runs at 25 or 30 frames per second, not {video.fps}")
    address = parse_address(args.control) if args.control else None
    script = Script(args.script, loop=args.loop) if args.script else None
    if script is None and address is None and not args.stdin:
        raise InputError("nothing to say: give --script FILE, --control HOST:PORT or --stdin")
    bit_rate = args.video_bitrate or VIDEO_BIT_RATE
    if not 100_000 <= bit_rate <= 20_000_000:
        raise InputError(f"--video-bitrate must be from 100000 to 20000000 bit/s, not {bit_rate}")
    voice = build_voice(voice_settings_of(args))
    voice.load()
    chat = None
    if address is not None or args.stdin:
        chat = Chat(build_brain(brain_settings(args), args.lang), Conversation("broadcast", language=args.lang))
    renderer = build_renderer(video, warn=lambda w: _say(f"warning: {w}"))
    renderer.load()

    queue = LineQueue()
    speaker = Speaker(line_speaker(voice, chat, lambda text: text_requests(args, text), args.voice), queue, script,
                      say=_say)
    sender = RtmpSender(url, StreamFormat(video.size, video.fps, AUDIO_RATE, bit_rate), say=_say)
    host = BroadcastHost(Timeline(MotionEngine(fps=video.fps, style=video.style, seed=video.seed)), renderer,
                         sender, speaker, pause=args.pause, say=_say)
    control = ControlServer(address, queue, host.status).start() if address is not None else None
    if control is not None:
        _say(f"control endpoint on http://{address[0]}:{control.port} (POST /say, POST /ask, GET /status)")
    if args.stdin:
        read_stdin_lines(queue, _say)
    speaker.start()
    sender.start()
    summary = None
    try:
        summary = host.run(duration=args.duration, until_script_ends=address is None and not args.stdin)
    except KeyboardInterrupt:
        _say("stopping")
    finally:
        if control is not None:
            control.close()
        speaker.stop()
        sender.close()
    if summary is not None:
        _say(f"streamed {summary.seconds:.1f} s ({summary.frames} frames at {video.fps} fps, "
             f"{sender.frames_sent} sent, {summary.lines} lines, {summary.connections} connection(s)) in "
             f"{summary.wall:.1f} s; CPU {summary.cpu / max(summary.seconds, 1e-9):.2f} s per stream second, "
             f"at most {summary.max_late:.2f} s behind the wall clock")
    return 0
