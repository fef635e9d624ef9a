"""Exceptions. Every message is one line that names the problem and what to do."""

from __future__ import annotations

__all__ = ["MmspecError", "ScopeError", "UnknownName", "TraceReplayError"]


class MmspecError(Exception):
    """Base class: a problem with the user's input or request (the CLI exits 2)."""


class ScopeError(MmspecError):
    """A scope (the model's constants) is malformed or impossible."""


class UnknownName(MmspecError):
    """An unknown design, check or request class was named."""


class TraceReplayError(MmspecError):
    """A trace does not replay through the step function (tampered or stale)."""
