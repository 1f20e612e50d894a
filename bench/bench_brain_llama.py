"""The openai brain on a real llama.cpp server with Gemma 3 270M: does the model follow the tag format,
and how fast does the first sentence come?

Run: .venv/bin/python bench/bench_brain_llama.py [--turns 6] [--max-tokens 40]  (needs the `llamacpp` extra)
The server (llama-cpp-python's, OpenAI-compatible, streaming) is started on 127.0.0.1 and stopped after.
Each ordinary user turn (English and Chinese, from tests/data/brain_turns.yaml) is sent twice: with the
system prompt folded into the first user turn (what the brain does for Gemma, whose chat template drops
system messages) and as a system message. Reported per mode: the share of sentences that carried the
model's own [emotion intensity] tag (the rest are tagged by the classifier), the share of replies whose
first sentence was tagged, the median time to the first sentence and to the whole reply, and failures.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from llama_server import LlamaServer, gemma_gguf, llama_available  # noqa: E402
from visage.backends.llm import create_brain, openai_chat  # noqa: E402
from visage.backends.llm.base import Conversation  # noqa: E402
from visage.core.tags import TagStreamParser  # noqa: E402

import bench_brain_quality  # noqa: E402

PERSONA = "You are visage, a friendly guide at a museum."


class CountingParser(TagStreamParser):
    """The brain's own parser, counting which sentences carried the model's tag."""

    seen: list[bool] = []

    def feed(self, token):
        return self._count(super().feed(token))

    def flush(self, complete_only=False):
        return self._count(super().flush(complete_only))

    @staticmethod
    def _count(sentences):
        CountingParser.seen += [s.tagged for s in sentences]
        return sentences


def user_turns(count: int) -> list[str]:
    first = [case["turns"][0]["say"] for case in bench_brain_quality.load_cases()]
    en = [t for t in first if not any("\u4e00" <= ch <= "\u9fff" for ch in t)]
    zh = [t for t in first if t not in en]
    step_en, step_zh = max(1, len(en) // count), max(1, len(zh) // count)
    return en[::step_en][:count] + zh[::step_zh][:count]


def run_mode(url: str, turns: list[str], fold: bool, max_tokens: int) -> dict:
    brain = create_brain("openai", base_url=url, model="gemma-3-270m", fold_system=fold, max_tokens=max_tokens,
                         temperature=0.7, first_token_timeout=120.0, timeout=60.0)
    sentences, first_tagged, firsts, wholes, failures = [], [], [], [], 0
    try:
        for turn in turns:
            CountingParser.seen = []
            language = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in turn) else "en"
            began = time.perf_counter()
            reply = []
            for s in brain.reply(Conversation("bench", persona=PERSONA, language=language), turn):
                if not reply:
                    firsts.append(time.perf_counter() - began)
                reply.append(s)
            wholes.append(time.perf_counter() - began)
            if reply and reply[-1].text in (a for pair in openai_chat.APOLOGIES.values() for a in pair):
                failures += 1
            sentences += CountingParser.seen
            if CountingParser.seen:
                first_tagged.append(CountingParser.seen[0])
    finally:
        brain.close()
    return {"replies": len(turns), "sentences": len(sentences),
            "tagged_sentences": sum(sentences) / max(1, len(sentences)),
            "first_sentence_tagged": sum(first_tagged) / max(1, len(first_tagged)),
            "first_s": statistics.median(firsts) if firsts else float("nan"),
            "whole_s": statistics.median(wholes), "failures": failures}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=6, help="turns per language")
    ap.add_argument("--max-tokens", type=int, default=40)
    args = ap.parse_args()
    missing = llama_available()
    if missing:
        sys.exit(missing)
    openai_chat.TagStreamParser = CountingParser  # count, do not change, what the brain parses
    turns = user_turns(args.turns)
    log = Path(tempfile.mkdtemp()) / "llama_server.log"
    began = time.perf_counter()
    with LlamaServer(gemma_gguf(), log=log) as server:
        print(f"server up in {time.perf_counter() - began:.1f} s ({len(turns)} turns, log {log})")
        for fold in (True, False):
            r = run_mode(server.url, turns, fold, args.max_tokens)
            name = "system folded into user turn" if fold else "system message (dropped by template)"
            print(f"{name}: {r['replies']} replies, {r['sentences']} sentences, model-tagged sentences "
                  f"{r['tagged_sentences']:.0%}, replies with a tagged first sentence {r['first_sentence_tagged']:.0%}, "
                  f"first sentence {r['first_s']:.2f} s, whole reply {r['whole_s']:.2f} s (medians), "
                  f"failures {r['failures']}")


if __name__ == "__main__":
    main()
