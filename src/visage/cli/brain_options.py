"""Options that choose a brain (embedded or an OpenAI-compatible server), shared by chat and ask."""
from __future__ import annotations

import argparse
import os

from visage.backends.llm import create_brain
from visage.backends.llm.base import Brain


def add_brain_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("brain")
    g.add_argument("--brain", default="embedded", choices=["embedded", "openai"],
                   help="embedded (offline, answers from a knowledge base) or openai (any OpenAI-compatible "
                        "server: OpenAI, Ollama, vLLM, llama.cpp, LM Studio, DeepSeek, Qwen...)")
    g.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1"),
                   help="the server for --brain openai (default: a local Ollama, or $OPENAI_BASE_URL)")
    g.add_argument("--model", default=os.environ.get("VISAGE_MODEL", "qwen2.5:7b"), help="model name on that server")
    g.add_argument("--api-key", default=None, help="API key (default: $OPENAI_API_KEY)")
    g.add_argument("--kb", default=None, metavar="FILE",
                   help="knowledge base (Markdown or YAML FAQ) for the embedded brain, or extra context "
                        "for --brain openai (default: the example knowledge base about visage)")


def build_brain(args: argparse.Namespace, language: str) -> Brain:
    if args.brain == "openai":
        brain = create_brain("openai", base_url=args.base_url, model=args.model, api_key=args.api_key,
                             language=language, knowledge=args.kb)
    else:
        brain = create_brain("embedded", knowledge=args.kb, language=language)
    brain.load()
    return brain
