"""Options that choose a brain (embedded or an OpenAI-compatible server), shared by chat, ask and serve.
Their defaults and rules are visage.config's BrainSettings, the same every live conversation uses."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from visage.backends.llm.openai_chat import DEFAULT_BASE_URL, DEFAULT_MODEL
from visage.cli.options import from_flags
from visage.config.settings import BRAINS, BrainSettings
from visage.errors import InputError


def add_brain_options(p: argparse.ArgumentParser, title: str = "brain") -> argparse._ArgumentGroup:
    g = p.add_argument_group(title)
    g.add_argument("--brain", choices=BRAINS, default=None,
                   help="embedded (offline, answers from a knowledge base; the default) or openai (any "
                        "OpenAI-compatible server: OpenAI, Ollama, vLLM, llama.cpp, LM Studio, DeepSeek, Qwen...)")
    g.add_argument("--base-url", default=None,
                   help=f"the server for --brain openai (default: $OPENAI_BASE_URL, or a local Ollama at "
                        f"{DEFAULT_BASE_URL})")
    g.add_argument("--model", default=None,
                   help=f"model name on that server (default: $VISAGE_MODEL, $OPENAI_MODEL or {DEFAULT_MODEL})")
    g.add_argument("--api-key-file", metavar="FILE", default=None,
                   help="read the API key from FILE (default: $OPENAI_API_KEY); never sent to pages")
    g.add_argument("--api-key", default=None, help="deprecated: visible to every user in `ps`; use --api-key-file "
                                                   "or $OPENAI_API_KEY")
    g.add_argument("--knowledge", default=None, metavar="FILE",
                   help="knowledge base (Markdown or YAML FAQ) for the embedded brain, or extra context "
                        "for --brain openai (default: the example knowledge base about visage)")
    g.add_argument("--kb", dest="knowledge", help=argparse.SUPPRESS)  # the name it had in chat and ask
    return g


def read_secret_file(path: str, what: str) -> str:
    """A secret (key, token) from a file, stripped: secrets on the command line are visible in `ps`."""
    try:
        secret = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the {what} file {path}: {exc}") from None
    if not secret:
        raise InputError(f"the {what} file {path} is empty")
    return secret


def warn_visible(flag: str, instead: str) -> None:
    print(f"visage: warning: {flag} is visible to every user of this machine (ps); use {instead}", file=sys.stderr)


def api_key(args: argparse.Namespace) -> str | None:
    """The key from --api-key-file, or the deprecated --api-key (with a warning), or None ($OPENAI_API_KEY
    is read by the brain itself)."""
    if getattr(args, "api_key_file", None):
        return read_secret_file(args.api_key_file, "API key")
    if getattr(args, "api_key", None):
        warn_visible("--api-key", "--api-key-file or $OPENAI_API_KEY")
    return getattr(args, "api_key", None)


def brain_settings(args: argparse.Namespace) -> BrainSettings:
    return from_flags(BrainSettings, brain=args.brain, base_url=args.base_url, model=args.model,
                      api_key=api_key(args), knowledge=args.knowledge)
