"""How much the tag parser costs per model token.

    .venv/bin/python bench/bench_tags.py [--repeats N]

A realistic ~300-token reply (a dozen sentences, each with its `[emotion intensity]` tag and some
`*emphasis*`) is cut into tokens the way BPE tokenizers cut text (words with their leading space, long
words in pieces, punctuation and tag parts as their own tokens) and fed to TagStreamParser token by
token. Printed per case: microseconds per token (median over the repeats) for
  tagged     the reply as the model is asked to write it;
  untagged   the same words without tags (every sentence goes to the fallback classifier);
  chinese    a tagged Chinese reply, one token per one or two characters;
  splitter   the bare SentenceSplitter on the clean text: the floor the parser builds on.
A model streams 20-100 tokens per second, i.e. 10,000-50,000 us per token.
"""
from __future__ import annotations

import argparse
import re
import statistics
import time

from visage.core.tags import TagStreamParser
from visage.core.text import SentenceSplitter

REPLY = (
    "[happy 0.7] Oh, that is *wonderful* news, congratulations on the new job! "
    "[surprised 0.6] I did not expect you to start so *soon*, though. "
    "[neutral 0.4] Let me think about what you might need for the first week. "
    "[neutral 0.5] You will probably want to sort out your commute before Monday. "
    "[happy 0.5] The bakery next to the station opens at *seven*, which is handy. "
    "[fearful 0.3] Are you nervous about meeting the whole team at once? "
    "[neutral 0.5] Most people find that the first few days are mostly introductions. "
    "[happy 0.6] You could bring something small to share, like biscuits or fruit. "
    "[sad 0.3] I will miss our long afternoon chats, to be honest. "
    "[happy 0.8] But this is a *big* step, and you have earned it! "
    "[neutral 0.4] Remember to ask questions whenever something is unclear. "
    "[neutral 0.5] Nobody expects a newcomer to know how everything works on day one. "
    "[happy 0.7] Good luck, and tell me *everything* on Friday!"
)
CHINESE = (
    "[happy 0.8]太*好*了，恭喜你找到新工作！[surprised 0.6]没想到你下周一就要开始上班了。"
    "[neutral 0.4]第一周你可能需要熟悉一下通勤路线。[fearful 0.3]你会不会有点紧张？"
    "[neutral 0.5]大多数人在头几天都是在认识同事。[happy 0.6]你可以带点小零食和大家分享。"
    "[sad 0.3]说实话，我会想念我们的下午茶时光。[happy 0.8]不过这是*很大*的一步，你值得！"
)


def bpe_like_tokens(text: str) -> list[str]:
    """Tokens shaped like a BPE tokenizer's: ' word', long words in 5-char pieces, punctuation alone."""
    tokens = []
    for piece in re.findall(r" ?[A-Za-z']+| ?\d+|[\u4e00-\u9fff]{1,2}|\s+|.", text):
        while len(piece) > 6:
            tokens.append(piece[:5])
            piece = piece[5:]
        tokens.append(piece)
    return tokens


def per_token_us(tokens: list[str], repeats: int, bare_splitter: bool = False) -> float:
    times = []
    for _ in range(repeats):
        parser = SentenceSplitter() if bare_splitter else TagStreamParser("en")
        start = time.perf_counter()
        for token in tokens:
            parser.feed(token)
        parser.flush()
        times.append((time.perf_counter() - start) / len(tokens) * 1e6)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=300)
    args = ap.parse_args()
    untagged_text = re.sub(r"\[[^\]]*\] ?|\*", "", REPLY)
    cases = {
        "tagged": bpe_like_tokens(REPLY),
        "untagged": bpe_like_tokens(untagged_text),
        "chinese": bpe_like_tokens(CHINESE),
    }
    print(f"{'case':<10} {'tokens':>6} {'us/token':>9}")
    for name, tokens in cases.items():
        print(f"{name:<10} {len(tokens):>6} {per_token_us(tokens, args.repeats):>9.2f}")
    tokens = cases["untagged"]
    print(f"{'splitter':<10} {len(tokens):>6} {per_token_us(tokens, args.repeats, bare_splitter=True):>9.2f}")


if __name__ == "__main__":
    main()
