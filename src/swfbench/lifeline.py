"""No child of swfbench outlives it: Linux's parent-death signal, asked for in each child.

swfbench stops its children itself on every exit path it sees (the end of a run, an error,
Ctrl-C, SIGTERM). When it is killed outright (SIGKILL, the OOM killer) it sees nothing: then the
kernel signals each child whose parent died. The setting is per process and a fork clears it,
so a child that forks its own workers (Locust's --processes) asks again in each of them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Callable
from functools import partial

PR_SET_PDEATHSIG = 1
ENV = "SWFBENCH_DIE_WITH_PARENT"
"""Set (to the signal's number) in a child's environment: its own forked children die with it."""


def die_with_parent(signum: int, parent: int) -> None:
    """In a child, before exec or just after a fork: have Linux send `signum` when the parent
    dies; and if it died already (the child was adopted before asking), go now."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signum)
    if os.getppid() != parent:
        os.kill(os.getpid(), signum)


def for_child(signum: int) -> Callable[[], None] | None:
    """A `preexec_fn` for subprocess.Popen: the child dies with this process (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    return partial(die_with_parent, signum, os.getpid())


def for_forks(signum: int) -> None:
    """Every process forked from now on dies with the process that forked it (Linux only)."""
    if not sys.platform.startswith("linux"):
        return
    forking = [os.getpid()]

    def before() -> None:
        forking[0] = os.getpid()

    def after_in_child() -> None:
        die_with_parent(signum, forking[0])

    os.register_at_fork(before=before, after_in_child=after_in_child)
