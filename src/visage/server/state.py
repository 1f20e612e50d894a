"""What the server's routes share: the services, the open connections, the defaults pages start from."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from pydantic import ValidationError
from starlette.requests import HTTPConnection

from visage.config.settings import describe
from visage.errors import InputError, VisageError
from visage.live.options import LiveOptions
from visage.live.services import LiveServices
from visage.server.access import Access, Limits, RateLimiter
from visage.server.catalog import Catalog, may_resume
from visage.server.faces import FaceCache
from visage.server.peers import Peers

SHOWN_DEFAULTS = ("persona", "language", "tts", "voice", "pitch", "style", "avatar", "size", "fps",
                  "emotion_auto", "vad_silence", "unfinished_hold", "prepare_reply")  # never a URL, a path or a key


@dataclass
class ServerState:
    """One per application (`app.state.visage`); models live in `services`, loaded by `loading`."""

    services: LiveServices
    peers: Peers  # or, with workers, the WorkerPool (the same counting interface)
    defaults: dict  # LiveOptions fields the page's own settings are laid over (`visage serve` flags)
    catalog: Catalog = None  # type: ignore[assignment]  # what pages choose among, by name
    access: Access = field(default_factory=Access)
    limits: Limits = field(default_factory=Limits)
    started: float = field(default_factory=time.time)
    loading: asyncio.Future | None = None
    voices: list[str] = field(default_factory=list)  # "default" and the default voice's names, once listed
    motion_streams: int = 0  # motion WebSocket streams running now
    faces: FaceCache = field(default_factory=FaceCache)  # the faces browsers draw, built once each
    workers: object | None = None  # --workers > 1: the WorkerPool holding the conversations (also `peers`)

    def __post_init__(self) -> None:
        if self.catalog is None:
            self.catalog = Catalog(self.defaults)
        self.messages = RateLimiter(self.limits.messages_per_minute)
        self.options(None)  # fail at start, not at the first connection, on bad defaults

    def options(self, data) -> LiveOptions:
        """A page's choices over the server's defaults; invalid ones, and anything the server does not
        offer (a URL, a path, another's conversation), are an InputError (HTTP 422) naming the field."""
        if data is not None and not isinstance(data, dict):
            raise InputError("options must be a JSON object")
        chosen = {k: v for k, v in (data or {}).items() if v not in (None, "")}
        resume, token = chosen.pop("session_id", None), chosen.pop("session_token", None)
        chosen = self.catalog.choose(chosen, self.voices, saved_avatars() if "avatar" in chosen else None)
        if resume is not None:
            if not may_resume(resume, token):  # the same answer for a wrong token and an unknown id
                raise InputError("session_id: no conversation of yours has this id (send its session_token)")
            chosen["session_id"] = resume
        try:
            return LiveOptions(**{**self.defaults, **chosen})
        except ValidationError as exc:
            raise InputError(describe(exc)) from None

    def shown_defaults(self) -> dict:
        shown = {k: v for k, v in self.defaults.items() if k in SHOWN_DEFAULTS}
        style = self.defaults.get("style")
        if style is not None:  # a style file named by the operator is shown by its name
            shown["style"] = next((n for n, v in self.catalog.styles.items() if v == style), None)
        return {**shown, "brain": self._default_brain()}

    def _default_brain(self) -> str:
        brain = self.defaults.get("brain", "embedded")
        return "openai" if brain == "openai" and "openai" in self.catalog.brains else "embedded"

    async def ready(self) -> None:
        """Wait for the background load; its failure is the caller's error, with the reason."""
        try:
            await asyncio.shield(self.loading)
        except Exception as exc:
            raise VisageError(f"the server could not load its models: {exc}") from None

    def load_state(self) -> str:
        """loading, ok or error: this process's models, and with workers, theirs."""
        if not self.loading.done():
            return "loading"
        if self.loading.exception() or (self.workers is not None and self.workers.load_error):
            return "error"
        return "ok" if self.workers is None or self.workers.loaded else "loading"


def saved_avatars() -> list[str]:
    from visage.backends.renderers.avatar_store import AvatarStore

    try:
        return AvatarStore().list()
    except Exception:  # an unreadable store offers none
        return []


def state_of(connection: HTTPConnection) -> ServerState:
    return connection.app.state.visage
