"""Conversations that persist: SQLite holds each session's persona, turns and summary.

Sessions are isolated by id and deletable. A session loads with its most recent turns only; older
turns are folded into a short extractive summary, so what a brain sees stays within a budget however
long the conversation has run, while the full record stays in the database until deleted. What the
user said about themselves (their name, where they live, what they like: memory.py) is pinned at the
start of the summary, so that a long conversation does not forget who it is talking to.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path

from visage.backends.llm.base import ChatTurn, Conversation
from visage.backends.llm.memory import told
from visage.core.text import language_of, split_sentences
from visage.core.types import parse_emotion
from visage.errors import InputError

RECENT_TURNS = 16  # turns loaded verbatim; older ones reach the brain through the summary
SUMMARY_CHARS = 1200  # the summary keeps its most recent part within this length
PINNED_FACTS = 8  # the user's own statements kept at the summary's start, newest last
PINNED_END = " … "  # between the pinned statements and the rolling summary

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, persona TEXT NOT NULL, language TEXT NOT NULL, summary TEXT NOT NULL DEFAULT '',
    summarised_until INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS turns (
    session TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE, seq INTEGER NOT NULL,
    role TEXT NOT NULL, text TEXT NOT NULL, emotion TEXT, time REAL NOT NULL, PRIMARY KEY (session, seq));
"""


def default_path() -> Path:
    from visage.core.home import data_home

    return data_home() / "sessions.sqlite"


class SessionStore:
    """One SQLite file shared by every session of a process; safe to use from several threads."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path else default_path()
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def create(self, persona: str = "", language: str = "en", session_id: str | None = None) -> Conversation:
        sid = session_id or uuid.uuid4().hex
        now = time.time()
        with self._lock:
            try:
                self._db.execute("INSERT INTO sessions (id, persona, language, created, updated) VALUES (?,?,?,?,?)",
                                 (sid, persona, language, now, now))
            except sqlite3.IntegrityError:
                raise InputError(f"a session {sid!r} exists already") from None
        return Conversation(sid, persona, [], "", language)

    def load(self, session_id: str) -> Conversation:
        """The session with its recent turns verbatim and older ones in the summary."""
        with self._lock:
            row = self._db.execute("SELECT persona, language, summary FROM sessions WHERE id = ?",
                                   (session_id,)).fetchone()
            if row is None:
                raise InputError(f"no session {session_id!r}")
            turns = self._db.execute(
                "SELECT role, text, emotion, time FROM turns WHERE session = ? ORDER BY seq DESC LIMIT ?",
                (session_id, RECENT_TURNS)).fetchall()
        history = [ChatTurn(r, t, parse_emotion(e) if e else None, tm) for r, t, e, tm in reversed(turns)]
        return Conversation(session_id, row[0], history, row[2], row[1])

    def append(self, session_id: str, turn: ChatTurn) -> None:
        """Record a turn; turns that fall out of the recent window are folded into the summary."""
        with self._lock:
            if self._db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
                raise InputError(f"no session {session_id!r}")
            seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE session = ?",
                                   (session_id,)).fetchone()[0]
            self._db.execute("INSERT INTO turns VALUES (?,?,?,?,?,?)", (
                session_id, seq, turn.role, turn.text, turn.emotion.value if turn.emotion else None, turn.time))
            self._db.execute("UPDATE sessions SET updated = ? WHERE id = ?", (time.time(), session_id))
            self._fold(session_id, seq)

    def _fold(self, session_id: str, last_seq: int) -> None:
        summary, until = self._db.execute("SELECT summary, summarised_until FROM sessions WHERE id = ?",
                                          (session_id,)).fetchone()
        oldest_recent = last_seq - RECENT_TURNS + 1
        if oldest_recent - 1 <= until:
            return
        rows = self._db.execute("SELECT role, text FROM turns WHERE session = ? AND seq > ? AND seq < ? ORDER BY seq",
                                (session_id, until, oldest_recent)).fetchall()
        pinned, _, rolling = summary.rpartition(PINNED_END) if PINNED_END in summary else ("", "", summary)
        facts = [f"User: {s}" for role, text in rows if role == "user" for s in split_sentences(text) if _states_fact(s)]
        pinned_facts = [f"User: {f}" for f in pinned.split("User: ") if f.strip()] if pinned else []
        pinned_facts = [f.strip() for f in pinned_facts + facts][-PINNED_FACTS:]
        head = " ".join(pinned_facts) + PINNED_END if pinned_facts else ""
        rolling = (rolling + " " + " ".join(_gist(role, text) for role, text in rows)).strip()
        summary = head + rolling[-max(SUMMARY_CHARS - len(head), 200):]
        self._db.execute("UPDATE sessions SET summary = ?, summarised_until = ? WHERE id = ?",
                         (summary, oldest_recent - 1, session_id))

    def delete(self, session_id: str) -> None:
        with self._lock:
            deleted = self._db.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount
        if not deleted:
            raise InputError(f"no session {session_id!r}")

    def list(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT id FROM sessions ORDER BY updated DESC")]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _states_fact(sentence: str) -> bool:
    return bool(told(sentence, language_of(sentence)))


def _gist(role: str, text: str) -> str:
    """A turn in a few words: its first sentence, shortened (an extractive summary needs no model)."""
    first = (split_sentences(text) or [text])[0]
    if len(first) > 120:
        first = first[:117] + "..."
    return f"{'User' if role == 'user' else 'Assistant'}: {first}"
