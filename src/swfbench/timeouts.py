"""How long an SWF call may take: the client timeouts every target carries.

Kept apart from `swfbench.target` (which imports boto3) so that command-line parsing, which
shows these defaults in `--help`, stays light for commands that never talk to SWF (`plan`).
"""

from __future__ import annotations

from dataclasses import dataclass

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 10.0


@dataclass(frozen=True, kw_only=True)
class ClientTimeouts:
    """How long any SWF call may take to connect and to answer before it fails as
    `ConnectTimeout` or `ReadTimeout`: a hung target shows as errors, not as silence."""

    connect_s: float = CONNECT_TIMEOUT_S
    read_s: float = READ_TIMEOUT_S
    """For every call but the long polls: SWF answers PollFor*Task within 60 s, so those get at
    least 70 s (see `client.LONG_POLL_S`)."""

    def to_dict(self) -> dict[str, float]:
        return {"connect_s": self.connect_s, "read_s": self.read_s}
