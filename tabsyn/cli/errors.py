"""How a command stops: a :class:`CLIError` printed as one line (exit status 2), or SIGINT /
SIGTERM raised as :class:`Interrupted` so that temporary files are removed (exit 130 / 143)."""

from __future__ import annotations

import re
import signal
import threading
from contextlib import contextmanager

EXIT_ERROR = 2


class CLIError(Exception):
    """A user-facing problem: printed as one line."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: unwinds like KeyboardInterrupt, so temporary files are removed."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum   # the shell's convention: 130 for SIGINT, 143 for SIGTERM

    def __str__(self) -> str:
        return {signal.SIGINT: "SIGINT (Ctrl-C)", signal.SIGTERM: "SIGTERM"}.get(self.signum, f"signal {self.signum}")


@contextmanager
def _signals_raise():
    """While a command runs, SIGINT and SIGTERM raise :class:`Interrupted` (once: a second
    signal during the cleanup is ignored). A signal the caller ignores (nohup, ``&``) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handled = [s for s in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(s) is not signal.SIG_IGN]
    previous = {s: signal.getsignal(s) for s in handled}

    def handler(signum, frame):
        for s in handled:
            signal.signal(s, signal.SIG_IGN)
        raise Interrupted(signum)

    for s in handled:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, signal.SIG_DFL if h is None else h)


def _one_line(exc: BaseException) -> str:
    """The message of an error as one line. Schema problems come as a list and with pandas
    advice ("e.g. df = df.drop(...)"); on the command line they get CSV advice instead."""
    from tabsyn.table.schema import SchemaError

    text = str(exc)
    if not isinstance(exc, SchemaError):
        return text.splitlines()[0] if text else type(exc).__name__
    text = re.sub(r"; drop it before fit, e\.g\. df = df\.drop\(columns=\[[^\n]*?\]\)",
                  ": remove that column from the CSV", text)
    text = re.sub(r",? e\.g\. df\b[^\n]*", "", text)   # any other pandas snippet
    first, *problems = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join([first, "; ".join(p.removeprefix("- ") for p in problems)]).strip()
