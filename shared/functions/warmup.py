"""A warm start: begin an instance's token exchange while the instance is still starting.

A new instance spends its first second importing SDKs; the token exchange is a few round trips
of waiting on the network. :class:`WarmStart` overlaps the two: when the entrypoint module is
imported it reads the settings, builds the credential and asks it for a token in one daemon
thread, while a second thread imports the data SDK and builds the client the first request needs
(it starts once the first thread's imports are done: imports hold the GIL, so two threads importing
at once finish together and the exchange would start only after both).
The first request then finds the client built and the token held (or in flight: the holder's
single flight makes it wait for that exchange instead of starting another).

Never fatal: whatever the background work raises is logged (redacted) and dropped, and the
first request does the same work again in the caller, so a bad setting or a refused exchange is
still reported by that request, in the function's JSON error. ``FEDERATION_WARM_START=0``
turns it off (then everything happens on the first request, as before).

Fork-safe: functions-framework serves with gunicorn, which imports the app in its master and
then forks the worker. Threads do not survive a fork, and a lock held by one at that instant
would stay held in the child forever. :func:`os.register_at_fork` makes the master wait for
the background work before forking (bounded by ``fork_wait_s``; the exchange is itself bounded
by the federation's deadline), so the worker inherits the built credential and its token and
no lock is held across the fork. Python's docs: "These calls are only made if control is
expected to return to the Python interpreter" — so ``subprocess`` never waits on it
(https://docs.python.org/3/library/os.html#os.register_at_fork).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from shared.redaction import package_logger, redact

S = TypeVar("S")  # the settings the credential is built from
C = TypeVar("C")  # the credential

ENV_SWITCH = "FEDERATION_WARM_START"
_log = package_logger("shared.functions.warmup")


def enabled(environ: dict[str, str] | None = None) -> bool:
    """``FEDERATION_WARM_START``: on unless set to 0, false, no or off."""
    value = (os.environ if environ is None else environ).get(ENV_SWITCH, "1")
    return value.strip().lower() not in ("0", "false", "no", "off")


class WarmStart(Generic[S, C]):
    """One instance's credential, built (and its first token fetched) in the background at start.

    :param read_settings: reads and validates the settings (raises ``SettingsError``).
    :param build: builds the credential from the settings.
    :param first_token: asks the credential for its first token (the exchange).
    :param prepare: builds what else the first request needs (imports the data SDK, builds its
        client), meanwhile in a second thread; it may call :meth:`credential`.
    """

    def __init__(
        self,
        read_settings: Callable[[], S],
        build: Callable[[S], C],
        first_token: Callable[[C], object],
        *,
        prepare: Callable[[], object] | None = None,
        fork_wait_s: float = 60.0,
    ) -> None:
        self._read_settings = read_settings
        self._build = build
        self._first_token = first_token
        self._prepare = prepare
        self._fork_wait_s = fork_wait_s
        self._lock = threading.Lock()  # held while building only, never during the exchange
        self._built: tuple[S, C] | None = None
        self._threads: list[threading.Thread] = []
        # The client is prepared once the exchange is on the wire: imports hold the GIL, so two
        # threads importing at once would finish together and the exchange would start last.
        self._exchange_started = threading.Event()

    def start(self) -> WarmStart[S, C]:
        """Start the background work (unless ``FEDERATION_WARM_START=0``). Returns ``self``."""
        if not enabled():
            return self
        self._threads = [
            threading.Thread(target=self._exchange, name="warm-start-token", daemon=True),
            threading.Thread(target=self._prepare_client, name="warm-start-client", daemon=True),
        ]
        os.register_at_fork(before=self.wait)
        for thread in self._threads:
            thread.start()
        return self

    def credential(self, settings: S) -> C:
        """The credential for ``settings``: the one built in the background if it was built from the
        same settings, else a new one built now (raising whatever building raises)."""
        with self._lock:
            if self._built is None or self._built[0] != settings:
                self._built = (settings, self._build(settings))
            return self._built[1]

    def wait(self, timeout_s: float | None = None) -> None:
        """Wait for the background work (before a fork; tests)."""
        limit = self._fork_wait_s if timeout_s is None else timeout_s
        for thread in self._threads:
            if thread.is_alive() and thread is not threading.current_thread():
                thread.join(limit)

    def _exchange(self) -> None:
        try:
            credential = self.credential(self._read_settings())
            self._exchange_started.set()  # its imports are done: the client's may start now
            self._first_token(credential)
        except Exception as error:  # never fatal: the first request repeats this and reports it
            _log.info("warm start: the first token will be fetched on the first request (%s)", _why(error))
        finally:
            self._exchange_started.set()

    def _prepare_client(self) -> None:
        if self._prepare is None:
            return
        self._exchange_started.wait(self._fork_wait_s)
        try:
            self._prepare()
        except Exception as error:  # never fatal: the first request repeats this and reports it
            _log.info("warm start: the client will be built on the first request (%s)", _why(error))


def _why(error: BaseException) -> str:
    return redact(f"{type(error).__name__}: {error}")
