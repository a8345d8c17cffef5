"""The moto versions the extended engine was tested with; it refuses to start on others."""

from __future__ import annotations

import moto

from swfbench.errors import EmbeddedTargetError

TESTED_MOTO_VERSIONS: tuple[str, ...] = ("5.2.5",)


class UnsupportedMotoVersion(EmbeddedTargetError):
    """The installed moto is not one the engine's subclasses were tested against."""


def check_moto_version() -> None:
    """Raise `UnsupportedMotoVersion` unless the installed moto is a tested version.

    The engine overrides moto internals (private methods, attribute names), which change
    between moto releases without notice, so an untested version is refused outright.
    """
    installed = getattr(moto, "__version__", "unknown")
    if installed not in TESTED_MOTO_VERSIONS:
        supported = ", ".join(TESTED_MOTO_VERSIONS)
        raise UnsupportedMotoVersion(
            f"the swfbench engine supports moto {supported} only, but moto {installed} is "
            "installed; install a supported moto, or use --engine moto to run plain moto"
        )
