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
from visage.server.peers import Peers

SECRET_OPTIONS = {"api_key"}  # server defaults never sent to a page


@dataclass
class ServerState:
    """One per application (`app.state.visage`); models live in `services`, loaded by `loading`."""

    services: LiveServices
    peers: Peers
    defaults: dict  # LiveOptions fields the page's own settings are laid over (`visage serve` flags)
    started: float = field(default_factory=time.time)
    loading: asyncio.Future | None = None

    def __post_init__(self) -> None:
        self.options(None)  # fail at start, not at the first connection, on bad defaults

    def options(self, data) -> LiveOptions:
        """A page's settings over the server's defaults; invalid ones are an InputError (HTTP 422) that
        names each field ("size: the video size must be ...")."""
        if data is not None and not isinstance(data, dict):
            raise InputError("options must be a JSON object")
        chosen = {k: v for k, v in (data or {}).items() if v not in (None, "")}
        try:
            return LiveOptions(**{**self.defaults, **chosen})
        except ValidationError as exc:
            raise InputError(describe(exc)) from None

    def shown_defaults(self) -> dict:
        return {k: v for k, v in self.defaults.items() if k not in SECRET_OPTIONS}

    async def ready(self) -> None:
        """Wait for the background load; its failure is the caller's error, with the reason."""
        try:
            await asyncio.shield(self.loading)
        except Exception as exc:
            raise VisageError(f"the server could not load its models: {exc}") from None


def state_of(connection: HTTPConnection) -> ServerState:
    return connection.app.state.visage
