"""Reading knowledge files: Markdown or YAML FAQ -> KnowledgeEntry, with errors a person can act on.

- Markdown: each heading is a question or topic, and the text under it, up to the next heading, is the
  answer. A heading with no text of its own is a section: its title becomes the topic of the entries
  below it. A line "Also asked: q1; q2" ("也问：q1；q2") just under a heading adds other phrasings.
  HTML comments and fenced code blocks are skipped: they cannot be spoken. List items become sentences.
- YAML: a list, or {faq: [...]}, of {q: question, a: answer} with optional `also` (other phrasings),
  `lang` (en, zh; guessed from the text if absent), `topic` and `emotion` (how the answer is said).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from visage.core.types import Emotion, parse_emotion
from visage.errors import InputError
from visage.core.text import has_han, is_han, language_of

SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".yaml": "yaml", ".yml": "yaml"}


@dataclass(frozen=True)
class KnowledgeEntry:
    """One question (or topic) and the answer the avatar gives."""

    question: str
    answer: str
    alternatives: tuple[str, ...] = ()
    language: str = "en"
    topic: str = ""
    emotion: Emotion | None = None  # how to say the answer; None: from each sentence's words
    source: str = ""  # file and line, for messages


def read_knowledge_file(path: Path) -> list[KnowledgeEntry]:
    """The entries of one Markdown or YAML file; a clear InputError if it cannot be used."""
    if not path.exists():
        raise InputError(f"knowledge base not found: {path}")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"cannot read the knowledge base {path}: use a Markdown (.md) or YAML (.yaml, .yml) file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the knowledge base {path}: {exc}") from None
    entries = _parse_markdown(text, path.name) if kind == "markdown" else _parse_yaml(text, path.name)
    if not entries:
        hint = ("headings (## Question) with answer text under them" if kind == "markdown"
                else "a list of entries such as - q: question / a: answer")
        raise InputError(f"the knowledge base {path} has no entries: it needs {hint}")
    return entries


_ALSO = re.compile(r"^\W*(also asked|also|alternatives?|也问|又问|其他问法)\s*[:：]\s*(.+)$", re.IGNORECASE)


def _parse_markdown(text: str, source: str) -> list[KnowledgeEntry]:
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    entries: list[KnowledgeEntry] = []
    sections: list[tuple[int, str]] = []  # (level, title) of the headings above
    heading, line_no, also, body = None, 0, [], []
    in_code = False

    def finish() -> None:
        answer = _clean_markdown(body)
        if heading and answer:
            topic = " ".join(title for level, title in sections[:-1])
            entries.append(KnowledgeEntry(heading, answer, tuple(also), language_of(heading + answer), topic,
                                          None, f"{source}:{line_no}"))

    for n, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith(("```", "~~~")):
            in_code = not in_code
            continue
        if in_code:
            continue
        m = re.match(r"^(#{1,6})\s+(.+?)\s*#*\s*$", line)
        if m:
            finish()
            level, heading, line_no, also, body = len(m.group(1)), _clean_inline(m.group(2)), n, [], []
            sections = [s for s in sections if s[0] < level] + [(level, heading)]
        elif heading and not body and (a := _ALSO.match(line.strip())):
            also += [q.strip() for q in re.split(r"[;；|]", a.group(2)) if q.strip()]
        else:
            body.append(line)
    finish()
    return entries


def _clean_inline(text: str) -> str:
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links and images: their text
    text = re.sub(r"(\*\*|__|\*|`)(.+?)\1", r"\2", text)
    return text.strip()


def _clean_markdown(lines: list[str]) -> str:
    """Markdown body -> speakable text: list items become sentences, markup is dropped."""
    parts = []
    for line in lines:
        line = line.strip()
        if not line or re.match(r"^(\||[-*_]{3,}$)", line):
            continue
        item = re.match(r"^([-*+]|\d+[.)])\s+(.*)$", line)
        line = _clean_inline(item.group(2) if item else line.lstrip("> "))
        if item and line and line[-1] not in ".!?。！？；;:：":
            line += "。" if has_han(line) else "."
        parts.append(line)
    joined = ""
    for part in parts:  # Chinese lines join without a space
        joined += ("" if not joined or is_han(part[0]) and is_han(joined[-1]) else " ") + part
    return joined.strip()


def _parse_yaml(text: str, source: str) -> list[KnowledgeEntry]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"the knowledge base {source} is not valid YAML: {exc}") from None
    if isinstance(data, dict):
        data = next((data[k] for k in ("faq", "entries", "questions") if k in data), None)
    if not isinstance(data, list):
        raise InputError(f"the knowledge base {source} must be a list of entries (- q: question / a: answer)")
    entries = []
    for n, item in enumerate(data, 1):
        if not isinstance(item, dict):
            raise InputError(f"entry {n} of {source} is not a mapping with q: and a:")
        questions = item.get("q", item.get("question"))
        answer = item.get("a", item.get("answer"))
        questions = [questions] if isinstance(questions, str) else list(questions or [])
        if not questions or not all(isinstance(q, str) and q.strip() for q in questions):
            raise InputError(f"entry {n} of {source} has no question (q:)")
        if not isinstance(answer, str) or not answer.strip():
            raise InputError(f"entry {n} of {source} ({questions[0]!r}) has no answer (a:)")
        also = item.get("also", item.get("alternatives", []))
        also = [also] if isinstance(also, str) else [str(q) for q in also or []]
        language = str(item.get("lang", item.get("language", "")) or language_of(questions[0] + answer)).lower()
        emotion = parse_emotion(item["emotion"]) if item.get("emotion") else None
        entries.append(KnowledgeEntry(questions[0].strip(), " ".join(answer.split()), tuple(questions[1:] + also),
                                      language.split("-")[0], str(item.get("topic", "")), emotion, f"{source}:{n}"))
    return entries
