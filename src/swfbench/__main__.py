"""`swfbench` and `python -m swfbench`: signals are caught before the commands are imported.

Importing the commands (boto3, pytest, jinja2, ...) takes a second or more. A Ctrl-C, SIGTERM or
SIGHUP meanwhile is recorded, not raised (an exception raised inside an import can surface as
another one, with a traceback), and answered with one line and exit 130 once the imports are
done, as one at any later moment is. Only `signal` is imported before the handlers are in place.
"""

import signal
import sys
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
INTERRUPTED = 130


class StartUp:
    def __init__(self) -> None:
        self.received = 0
        self.imported = False
        for signum in SIGNALS:
            # A signal ignored by whoever started us (a background job) stays ignored.
            if signal.getsignal(signum) != signal.SIG_IGN:
                signal.signal(signum, self.handle)

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.received += 1
        if self.imported:
            raise KeyboardInterrupt  # until the command's own handlers (swfbench.interrupts)


def main() -> int:
    start_up = StartUp()
    try:
        from swfbench.cli import main as run

        start_up.imported = True
        if start_up.received:
            raise KeyboardInterrupt
        return run()
    except KeyboardInterrupt:
        print("swfbench: interrupted", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
