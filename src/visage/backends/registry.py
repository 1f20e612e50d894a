"""A plain name -> factory registry, one per backend kind (TTS, aligner, ...)."""
from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from visage.errors import InputError

T = TypeVar("T")


class Registry(Generic[T]):
    """Backends register a factory under a name; users pick them by that name.

    `providers` are the modules (under `package`) that register themselves when imported; they are
    imported on first use, so a backend's heavy dependencies load only when it is chosen, and a
    provider module that is absent (a trimmed install) is simply not offered.
    """

    def __init__(self, kind: str, package: str | None = None, providers: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.package, self.providers = package, providers
        self._factories: dict[str, Callable[..., T]] = {}
        self._imported = False
        self._lock = threading.RLock()  # a provider's import may name the registry again

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def add(factory: Callable[..., T]) -> Callable[..., T]:
            self._factories[name] = factory
            return factory

        return add

    def _import_providers(self) -> None:
        # under a lock, and marked done only once done: sessions created at once in worker threads
        # otherwise found an empty registry ("unknown ... backend 'webrtc'; choose one of: ")
        if self._imported or not self.package:
            return
        with self._lock:
            if self._imported:
                return
            for module in self.providers:
                full = f"{self.package}.{module}"
                try:
                    importlib.import_module(full)
                except ModuleNotFoundError as exc:
                    if exc.name != full:
                        raise
            self._imported = True

    def names(self) -> list[str]:
        self._import_providers()
        return sorted(self._factories)

    def create(self, name: str, **options) -> T:
        self._import_providers()
        try:
            factory = self._factories[name]
        except KeyError:
            raise InputError(
                f"unknown {self.kind} backend {name!r}; choose one of: {', '.join(self.names())}"
            ) from None
        return factory(**options)
