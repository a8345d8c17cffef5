"""Ctrl-C, SIGTERM and SIGHUP: the first stops a run gracefully, the second stops it at once.

A terminal sends Ctrl-C to its whole foreground process group. swfbench's children (the embedded
server, Locust) run in sessions of their own, so only swfbench hears it; it alone decides how
each child stops, once and in order, and marks the run's results `interrupted`.

What a signal does depends on the phase the run is in:

- before anything ran (start-up, target, bootstrap), the first signal ends the command: there is
  nothing to finish, so it raises `KeyboardInterrupt` and the command exits 130;
- once a run is under way (`hold`), signals never raise: the first is passed on to whatever
  runs the load (Locust stops its users, closes its tasks and writes its results), the second
  says "now" (stop without the closing audits); both are recorded;
- inside an `abortable` step (the closing audit), the second signal raises, so the step ends
  early and the run still writes what it has.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType, TracebackType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
Listener = Callable[[str, int], None]
"""Called with the signal's name (SIGINT) and how many signals the run has received so far."""


class Interrupts:
    """The signals one command received, and what the next one does (see the module)."""

    def __init__(self) -> None:
        self.received: list[str] = []
        """Names of the signals received, in order."""
        self._raise_at: int | None = 1
        self._listener: Listener | None = None
        self._previous: dict[int, Any] = {}

    @property
    def by(self) -> str | None:
        """The first signal's name: who interrupted the run; None when nothing did."""
        return self.received[0] if self.received else None

    @property
    def hurried(self) -> bool:
        """A second signal came: stop at once."""
        return len(self.received) >= 2

    def describe(self) -> str:
        """ "SIGINT", "SIGINT, then SIGTERM": for status lines."""
        if len(self.received) == 1:
            return self.received[0]
        return f"{self.received[0]}, then {self.received[-1]}"

    def __enter__(self) -> Interrupts:
        for signum in SIGNALS:
            previous = signal.getsignal(signum)
            if previous != signal.SIG_IGN:
                self._previous[signum] = previous
                signal.signal(signum, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signal.Signals(signum).name)
        if self._listener is not None:
            self._listener(self.received[-1], len(self.received))
        if self._raise_at is not None and len(self.received) >= self._raise_at:
            raise KeyboardInterrupt

    def hold(self, listener: Listener | None = None) -> None:
        """The run is under way: from now on signals are passed to `listener` and recorded,
        never raised (except inside `abortable`)."""
        self._raise_at, self._listener = None, listener

    def release(self) -> None:
        """The run's child is gone: signals are recorded, no longer passed on."""
        self._listener = None

    @contextmanager
    def abortable(self) -> Iterator[None]:
        """A step that a second signal cuts short (`KeyboardInterrupt`); one already cut short
        if two signals came before it."""
        saved = self._raise_at
        self._raise_at = 2
        try:
            if self.hurried:
                raise KeyboardInterrupt
            yield
        finally:
            self._raise_at = saved
