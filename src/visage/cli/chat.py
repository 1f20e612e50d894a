"""`visage chat`, `visage emotion` and `visage ask`: the brain from the terminal."""
from __future__ import annotations

import argparse
import json
import sys

from visage.cli.brain_options import add_brain_options, brain_settings
from visage.config import build_brain
from visage.config.settings import DEFAULT_LANGUAGE

CHAT_EXAMPLES = """\
examples:
  visage chat                                   the offline brain, answering about visage itself
  visage chat --knowledge my_faq.yaml --lang zh       your own knowledge base, in Chinese
  visage chat --brain openai --base-url http://127.0.0.1:11434/v1 --model qwen2.5:7b
  visage chat --session demo                    continue (or start) the saved session "demo"

Each reply sentence is printed with its tags: [emotion intensity type] text {emphasised words}.
Type /quit (or Ctrl-D) to leave, /new for a fresh session.
"""


def add_parsers(commands) -> None:
    p = commands.add_parser("chat", help="talk with the brain in the terminal (tags shown)",
                            description="A terminal conversation with the brain; each reply sentence with its tags.",
                            epilog=CHAT_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_brain_options(p)
    p.add_argument("--lang", default=DEFAULT_LANGUAGE, help="conversation language (en, zh, ...)")
    p.add_argument("--session", default=None, help="a session id to continue or create (saved in SQLite)")
    p.add_argument("--persona", default="", help="who the avatar is (used by --brain openai)")
    p.set_defaults(run=run_chat)

    e = commands.add_parser("emotion", help="print the emotion of a text as JSON",
                            description="Classify TEXT's emotion (English and Chinese, no model weights).",
                            epilog='example:\n  visage emotion "I am so happy to see you!"\n'
                                   '  -> {"emotion": "happy", "intensity": 0.8}',
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("text", metavar="TEXT", help="the text ('-' reads standard input)")
    e.set_defaults(run=run_emotion)


def format_sentence(s) -> str:
    emphasis = " {" + ", ".join(s.emphasis) + "}" if s.emphasis else ""
    return f"[{s.emotion.value} {s.intensity:.2f} {s.sentence_type.value}] {s.text}{emphasis}"


def run_chat(args: argparse.Namespace) -> int:
    from visage.backends.llm.chat import Chat
    from visage.backends.llm.sessions import SessionStore

    brain = build_brain(brain_settings(args), args.lang)
    store = SessionStore()
    if args.session and args.session in store.list():
        conversation = store.load(args.session)
    else:
        conversation = store.create(persona=args.persona, language=args.lang, session_id=args.session)
    chat = Chat(brain, conversation, store)
    interactive = sys.stdin.isatty()
    if interactive:
        print(f"visage chat ({brain.name} brain, session {conversation.session_id}); /quit to leave")
    while True:
        try:
            line = input("you> " if interactive else "")
        except EOFError:
            break
        line = line.strip()
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        if line == "/new":
            chat = Chat(brain, store.create(persona=args.persona, language=args.lang), store)
            print(f"(new session {chat.conversation.session_id})")
            continue
        for sentence in chat.reply(line):
            print(format_sentence(sentence), flush=True)
    return 0


def run_emotion(args: argparse.Namespace) -> int:
    from visage.cli.options import read_text_argument
    from visage.core.sentiment import classify_emotion

    emotion, intensity = classify_emotion(read_text_argument(args.text))
    print(json.dumps({"emotion": emotion.value, "intensity": round(intensity, 3)}))
    return 0


ASK_EXAMPLES = """\
examples:
  visage ask "What can you do?" -o reply.mp4
  visage ask "门票多少钱？" --lang zh -o reply.mp4
  visage ask "Tell me a joke" --brain openai --model qwen2.5:7b -o joke.mp4 --avatar me
"""


def add_ask_parser(commands) -> None:
    from visage.cli.say import add_video_options

    p = commands.add_parser("ask", help="ask the brain and get its answer as a talking-portrait video",
                            description="brain -> voice -> motion -> video in one step: the reply to TEXT as an MP4.",
                            epilog=ASK_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("text", metavar="TEXT", help="the question or message ('-' reads standard input)")
    add_video_options(p)
    add_brain_options(p)
    p.set_defaults(run=run_ask)


def run_ask(args: argparse.Namespace) -> int:
    from visage.backends.llm.base import Conversation
    from visage.backends.llm.chat import Chat
    from visage.backends.tts.narration import narrate
    from visage.cli.options import avatar_info, read_text_argument, take_avatar_voice, voice_settings
    from visage.cli.say import render_video, video_settings, warn
    from visage.config import build_voice
    from visage.core.types import PitchStyle

    video = video_settings(args)
    take_avatar_voice(args, avatar_info(args.avatar), warn)  # the avatar's stored voice unless --voice/--pitch
    voice = voice_settings(args)
    text = read_text_argument(args.text)
    brain = build_brain(brain_settings(args), args.lang)
    sentences = Chat(brain, Conversation("ask", language=args.lang)).reply(text)

    def requests():
        for sentence in sentences:
            if not args.quiet:
                print(format_sentence(sentence), file=sys.stderr)
            yield sentence.to_request(args.voice, PitchStyle(args.pitch))

    return render_video(narrate(build_voice(voice), requests()), None, video, args.output, quiet=args.quiet)
