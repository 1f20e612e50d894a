"""Errors a user can act on: each says what went wrong and what to do about it."""
from __future__ import annotations


class VisageError(Exception):
    """Base of every error visage raises on purpose; its message is meant for a person."""


class InputError(VisageError, ValueError):
    """The user's input cannot be used as it is (empty text, unknown language, broken audio...)."""


class BackendError(VisageError):
    """A backend (model, server, library) failed; the message names the backend and the fix."""


class MissingExtraError(BackendError, ImportError):
    """An optional dependency is not installed; the message names the pip extra that provides it."""

    def __init__(self, backend: str, extra: str, module: str) -> None:
        super().__init__(
            f"the {backend} backend needs the Python package {module!r}, which is not installed; "
            f"install it with: pip install 'visage[{extra}]'"
        )
        self.backend, self.extra, self.module = backend, extra, module

    def __reduce__(self):  # rebuilt from its parts, so it crosses a process boundary intact
        return (type(self), (self.backend, self.extra, self.module))


def require(module: str, backend: str, extra: str):
    """Import an optional module, or raise MissingExtraError naming the extra that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(backend, extra, module) from None
