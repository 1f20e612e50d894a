"""A plain name -> factory registry, one per backend kind (TTS, aligner, ...)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from visage.errors import InputError

T = TypeVar("T")


class Registry(Generic[T]):
    """Backends register a factory under a name; users pick them by that name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def add(factory: Callable[..., T]) -> Callable[..., T]:
            self._factories[name] = factory
            return factory

        return add

    def names(self) -> list[str]:
        return sorted(self._factories)

    def create(self, name: str, **options) -> T:
        try:
            factory = self._factories[name]
        except KeyError:
            raise InputError(
                f"unknown {self.kind} backend {name!r}; choose one of: {', '.join(self.names())}"
            ) from None
        return factory(**options)
