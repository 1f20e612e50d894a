"""Options that choose a brain (embedded or an OpenAI-compatible server), shared by chat, ask and serve.
Their defaults and rules are visage.config's BrainSettings, the same every live conversation uses."""
from __future__ import annotations

import argparse

from visage.backends.llm.openai_chat import DEFAULT_BASE_URL, DEFAULT_MODEL
from visage.cli.options import from_flags
from visage.config.settings import BRAINS, BrainSettings


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
    g.add_argument("--api-key", default=None, help="API key (default: $OPENAI_API_KEY); never sent to pages")
    g.add_argument("--knowledge", default=None, metavar="FILE",
                   help="knowledge base (Markdown or YAML FAQ) for the embedded brain, or extra context "
                        "for --brain openai (default: the example knowledge base about visage)")
    g.add_argument("--kb", dest="knowledge", help=argparse.SUPPRESS)  # the name it had in chat and ask
    return g


def brain_settings(args: argparse.Namespace) -> BrainSettings:
    return from_flags(BrainSettings, brain=args.brain, base_url=args.base_url, model=args.model,
                      api_key=args.api_key, knowledge=args.knowledge)
