"""What a chat model is sent: a system prompt and as much of the conversation as fits a token budget.

Why a budget: small local models have short context windows (2-8k tokens) and their first-token delay
grows with the prompt, so every reply is built to fit `token_budget` tokens. Tokens are estimated, not
counted (no tokenizer to download per model): about 4 characters per token in Latin scripts and one per
Han character, which errs on the safe side for common BPE vocabularies. What goes first when the budget
is short: the oldest turns (the session's summary covers them), then knowledge snippets least related to
the message; the persona, the tag format and the message itself are always sent, trimmed if huge.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from visage.backends.llm.base import ChatTurn, Conversation
from visage.core.tags import TAG_FORMAT_PROMPT
from visage.core.types import Emotion
from visage.core.text import HAN, count_han, is_han

DEFAULT_TOKEN_BUDGET = 3000
MIN_TOKEN_BUDGET = 512  # the fixed instructions take ~250
MESSAGE_OVERHEAD = 4  # role markers and separators a chat template adds per message
# The most of the budget each part may take; history gets what the others leave.
PERSONA_SHARE = 0.2
MESSAGE_SHARE = 0.25
SUMMARY_SHARE = 0.15
KNOWLEDGE_SHARE = 0.2
TURN_SHARE = 0.25  # one long old reply must not crowd out all the others

DEFAULT_PERSONA = "You are a friendly, helpful conversational avatar."
BREVITY = "Keep replies short and conversational: one to three sentences unless asked for more."
LANGUAGE_LINES = {
    "en": "Always reply in English.",
    "zh": "Always reply in Simplified Chinese (简体中文). Keep the tags in English, for example: "
          "[happy 0.8] 这真是*好消息*！[neutral 0.4] 你什么时候开始新工作？",
}
_WORDS = re.compile(f"[a-z0-9]+|[{HAN}]")


def estimate_tokens(text: str) -> int:
    """A cheap upper-leaning token count: one per Han character, one per 4 other characters."""
    han = count_han(text)
    return han + (len(text) - han + 3) // 4


def truncate_to_tokens(text: str, tokens: int) -> str:
    """The longest prefix of `text` within `tokens` (estimated), cut at a space when one is near."""
    if estimate_tokens(text) <= tokens:
        return text
    if tokens <= 1:
        return ""
    cost, end = 0.0, 0
    for end, ch in enumerate(text):
        cost += 1.0 if is_han(ch) else 0.25
        if cost > tokens - 1:  # room for the ellipsis
            break
    cut = text[:end]
    space = cut.rfind(" ")
    if space > len(cut) * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


def system_prompt(
    persona: str,
    language: str,
    user_emotion: Emotion | None = None,
    summary: str = "",
    knowledge: Sequence[str] = (),
) -> str:
    """Persona, tag format, reply language, the user's mood, the summary of older turns, and facts."""
    parts = [persona.strip() or DEFAULT_PERSONA, BREVITY, TAG_FORMAT_PROMPT]
    parts.append(LANGUAGE_LINES.get(language, f"Always reply in the language with code {language!r}."))
    if user_emotion is not None and user_emotion != Emotion.NEUTRAL:
        parts.append(f"The user sounds {user_emotion.value} right now; respond to how they feel.")
    if summary.strip():
        parts.append("Earlier in this conversation: " + summary.strip())
    if knowledge:
        facts = "\n".join(f"- {k.strip()}" for k in knowledge)
        parts.append("Facts you may use when relevant (say them in your own words):\n" + facts)
    return "\n\n".join(parts)


def build_messages(
    conversation: Conversation,
    message: str,
    user_emotion: Emotion | None = None,
    token_budget: int = DEFAULT_TOKEN_BUDGET,
    knowledge: Sequence[str] = (),
    language: str | None = None,
) -> list[dict[str, str]]:
    """The chat messages for one reply (system, recent turns, the message), within `token_budget`
    estimated tokens. Roles alternate user/assistant after the system message, as strict chat
    templates (Mistral, Llama 2) demand."""
    language = language or conversation.language
    persona = truncate_to_tokens(conversation.persona, int(token_budget * PERSONA_SHARE))
    fixed = system_prompt(persona, language, user_emotion)
    left = token_budget - estimate_tokens(fixed) - 2 * MESSAGE_OVERHEAD
    message = truncate_to_tokens(message.strip(), max(1, min(left, int(token_budget * MESSAGE_SHARE))))
    left -= estimate_tokens(message)

    # Each optional part costs its text plus its heading (~12 tokens); drop it rather than overflow.
    summary = truncate_to_tokens(conversation.summary.strip(), min(left, int(token_budget * SUMMARY_SHARE)) - 12)
    left -= estimate_tokens(summary) + 12 if summary else 0
    facts = select_knowledge(knowledge, message, min(left, int(token_budget * KNOWLEDGE_SHARE)) - 12)
    system = system_prompt(persona, language, user_emotion, summary, facts)
    left = token_budget - estimate_tokens(system) - estimate_tokens(message) - 2 * MESSAGE_OVERHEAD
    if left < 0:
        system = system_prompt(persona, language, user_emotion)
        left = token_budget - estimate_tokens(system) - estimate_tokens(message) - 2 * MESSAGE_OVERHEAD

    turns: list[dict[str, str]] = []
    for turn in reversed(conversation.history):
        if turn.role not in ("user", "assistant") or not turn.text.strip():
            continue
        text = truncate_to_tokens(_render(turn), int(token_budget * TURN_SHARE))
        cost = estimate_tokens(text) + MESSAGE_OVERHEAD
        if cost > left:
            break  # everything older is dropped too: the summary covers it
        turns.append({"role": turn.role, "content": text})
        left -= cost
    turns.reverse()
    return [{"role": "system", "content": system}, *_alternate(turns + [{"role": "user", "content": message}])]


def fold_system(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """The system message moved into the first user turn, for models whose chat template drops system
    messages (Gemma's does: the instructions, the tag format and the facts would never reach it)."""
    if not messages or messages[0]["role"] != "system":
        return messages
    system, rest = messages[0]["content"], [dict(m) for m in messages[1:]]
    first_user = next((m for m in rest if m["role"] == "user"), None)
    if first_user is None:
        return [{"role": "user", "content": system}, *rest]
    first_user["content"] = f"{system}\n\n{first_user['content']}"
    return rest


def select_knowledge(snippets: Sequence[str], message: str, tokens: int) -> list[str]:
    """The snippets to send, within `tokens`: all of them when they fit, else those sharing the most
    words (Han characters for Chinese) with the message, in their original order."""
    snippets = [s.strip() for s in snippets if s and s.strip()]
    cost = [estimate_tokens(s) + 1 for s in snippets]
    if sum(cost) <= tokens:
        return snippets
    asked = set(_WORDS.findall(message.lower()))
    score = [len(asked & set(_WORDS.findall(s.lower()))) for s in snippets]
    chosen, left = set(), tokens
    for i in sorted(range(len(snippets)), key=lambda i: (-score[i], i)):
        if score[i] > 0 and cost[i] <= left:
            chosen.add(i)
            left -= cost[i]
    return [snippets[i] for i in sorted(chosen)]


def _render(turn: ChatTurn) -> str:
    """A past reply is shown tagged, so the model keeps to the format it sees itself using."""
    text = turn.text.strip()
    if turn.role == "assistant" and turn.emotion is not None:
        return f"[{turn.emotion.value}] {text}"
    return text


def _alternate(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """Merge consecutive turns of one role (a failed reply leaves two user turns) and drop assistant
    turns before the first user turn."""
    out: list[dict[str, str]] = []
    for m in messages:
        if not out and m["role"] == "assistant":
            continue
        if out and out[-1]["role"] == m["role"]:
            out[-1] = {"role": m["role"], "content": out[-1]["content"] + "\n\n" + m["content"]}
        else:
            out.append(dict(m))
    return out
