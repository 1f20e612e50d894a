"""HTTP plumbing shared by every backend that talks to a server (the OpenAI-compatible brain, HTTP voices).

It lives beside the backend kinds rather than in one of them, so that a brain never imports a voice module.
"""
from __future__ import annotations

import json

# How much of a server's error text goes into a message: enough for a traceback's last line.
ERROR_TEXT_CHARS = 300


def error_text(body: bytes) -> str:
    """A server's error reply as one short line: the message field of a JSON error when there is one
    (OpenAI's error.message, FastAPI's detail, GPT-SoVITS's message and Exception), else the text."""
    raw = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if isinstance(data, dict):
        parts = []
        err = data.get("error")
        if isinstance(err, dict):
            parts.append(str(err.get("message", "")))
        elif err:
            parts.append(str(err))
        for key in ("message", "detail", "Exception"):
            if data.get(key):
                parts.append(data[key] if isinstance(data[key], str) else json.dumps(data[key], ensure_ascii=False))
        if any(parts):
            raw = ": ".join(p for p in parts if p)
    line = " ".join(raw.split())
    return line if len(line) <= ERROR_TEXT_CHARS else line[: ERROR_TEXT_CHARS - 1] + "…"
