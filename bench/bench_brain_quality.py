"""Embedded brain quality: how often a reply to an ordinary user turn is appropriate, and how often it is
confidently beside the point, on tests/data/brain_turns.yaml (English and Chinese, multi-turn cases).

Run: .venv/bin/python bench/bench_brain_quality.py [--show dev|held-out|all] [--json out.json]
A turn is appropriate when its reply matches the case's `must` (one of) and `must_all`, matches none of
its `must_not`, answers from the knowledge-base entries it names (when it names some) and from no other
entry, and does not suggest another entry ("Do you mean ...?"). It is confidently beside the point when
a `must_not` matches or the reply answers from an entry the case does not name. Cases alternate between
a "dev" half (used while tuning the brain) and a "held-out" half (not looked at while tuning): pairs of
cases (an English one and its Chinese counterpart, ids 1-2, 5-6, ...) are dev, the pairs between them
(3-4, 7-8, ...) held-out. `--show` prints the failing turns of one half.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from visage.backends.llm import create_brain  # noqa: E402
from visage.backends.llm.base import ChatTurn, Conversation  # noqa: E402
from visage.core.text import split_sentences  # noqa: E402

CASES = Path(__file__).resolve().parents[1] / "tests" / "data" / "brain_turns.yaml"
HELD_OUT_2 = CASES.with_name("brain_turns_heldout2.yaml")  # written after tuning on CASES, all held out
_QUOTED = re.compile(r"“([^”]+)”")


@dataclass
class Verdict:
    case: str
    category: str
    split: str
    say: str
    reply: str
    appropriate: bool
    beside_the_point: bool
    why: list[str] = field(default_factory=list)


def split_of(case_id: str) -> str:
    number = int(case_id.rsplit("-", 1)[1])
    return "dev" if ((number - 1) // 2) % 2 == 0 else "held-out"


def load_cases(path: Path = CASES) -> list[dict]:
    """The cases of a file; a file-level `split` (the second held-out set) overrides the alternation."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [{**case, "split": data["split"]} if "split" in data else case for case in data["cases"]]


class Judge:
    """Which knowledge-base entry a reply's sentences come from, and the verdict on a turn."""

    def __init__(self, brain) -> None:
        brain.load()
        self.owner: dict[str, str] = {}
        self.headings = set()
        for entry in brain._kb.entries:
            self.headings.add(entry.question.rstrip("?？"))
            for sentence in split_sentences(entry.answer):
                if len(sentence) >= 8:
                    self.owner[sentence] = entry.question

    def judge(self, case: dict, turn: dict, sentences: list[str]) -> tuple[bool, bool, list[str]]:
        text = " ".join(sentences)
        why = []
        must = turn.get("must", [])
        if must and not any(re.search(p, text, re.I) for p in must):
            why.append(f"none of must {must}")
        for p in turn.get("must_all", []):
            if not re.search(p, text, re.I):
                why.append(f"missing {p!r}")
        beside = [p for p in turn.get("must_not", []) if re.search(p, text, re.I)]
        allowed = set(turn.get("kb", []))
        answered = {self.owner[s] for s in sentences if s in self.owner}
        wrong = answered - allowed
        if allowed and not answered & allowed and not must:
            why.append(f"did not answer from {sorted(allowed)}")
        suggested = {q for q in _QUOTED.findall(text) if q in self.headings} - {a.rstrip("?？") for a in allowed}
        if suggested:
            why.append(f"suggested {sorted(suggested)}")
        if beside:
            why.append(f"must_not {beside}")
        if wrong:
            why.append(f"answered from {sorted(wrong)}")
        return not why, bool(beside or wrong), why


def run(brain=None, cases: list[dict] | None = None) -> list[Verdict]:
    brain = brain or create_brain("embedded")
    judge = Judge(brain)
    verdicts = []
    for case in cases or load_cases():
        conversation = Conversation(case["id"], language="en")
        for turn in case["turns"]:
            reply = [s.text for s in brain.reply(conversation, turn["say"])]
            ok, beside, why = judge.judge(case, turn, reply)
            split = case.get("split") or split_of(case["id"])
            verdicts.append(Verdict(case["id"], case["category"], split, turn["say"], " ".join(reply), ok, beside, why))
            conversation.history += [ChatTurn("user", turn["say"]), ChatTurn("assistant", " ".join(reply))]
    return verdicts


def summarise(verdicts: list[Verdict]) -> dict:
    def figures(vs):
        if not vs:
            return {"turns": 0, "appropriate": 0.0, "beside_the_point": 0.0}
        return {"turns": len(vs), "appropriate": round(sum(v.appropriate for v in vs) / len(vs), 3),
                "beside_the_point": round(sum(v.beside_the_point for v in vs) / len(vs), 3)}

    groups: dict[str, list[Verdict]] = defaultdict(list)
    for v in verdicts:
        groups[v.category].append(v)
    language = defaultdict(list)
    for v in verdicts:
        language["zh" if re.search(r"[\u4e00-\u9fff]", v.say) else "en"].append(v)
    return {"all": figures(verdicts),
            "dev": figures([v for v in verdicts if v.split == "dev"]),
            "held-out": figures([v for v in verdicts if v.split == "held-out"]),
            "language": {k: figures(vs) for k, vs in sorted(language.items())},
            "category": {k: figures(vs) for k, vs in sorted(groups.items())}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--show", choices=["dev", "held-out", "all"], help="print the failing turns of this half")
    ap.add_argument("--json", type=Path, help="write the figures and every verdict here")
    ap.add_argument("--cases", type=Path, default=CASES,
                    help=f"the cases to run (default {CASES.name}; the second held-out set is {HELD_OUT_2.name})")
    args = ap.parse_args()
    verdicts = run(cases=load_cases(args.cases))
    summary = summarise(verdicts)
    row = "{:<18} {:>6} {:>12} {:>18}"
    print(row.format("", "turns", "appropriate", "beside the point"))
    for name in ("all", "dev", "held-out"):
        f = summary[name]
        print(row.format(name, f["turns"], f"{f['appropriate']:.1%}", f"{f['beside_the_point']:.1%}"))
    for name, f in {**summary["language"], **summary["category"]}.items():
        print(row.format(name, f["turns"], f"{f['appropriate']:.1%}", f"{f['beside_the_point']:.1%}"))
    if args.show:
        for v in verdicts:
            if not v.appropriate and args.show in ("all", v.split):
                print(f"\n[{v.case} {v.category}{' BESIDE' if v.beside_the_point else ''}] {v.say}\n  -> {v.reply}"
                      f"\n  {'; '.join(v.why)}")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "verdicts": [v.__dict__ for v in verdicts]},
                                        ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
