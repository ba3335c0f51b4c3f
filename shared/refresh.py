"""Single-flight, refresh-ahead token holding, for threads and for asyncio.

One :class:`TokenHolder` (threads) or :class:`AsyncTokenHolder` (one event loop) holds one
token. At cold start or after expiry, however many callers arrive at once, exactly one fetch
runs and the others wait for it — and share its failure, if it fails, rather than each starting
another after it (so no caller waits through two deadlines). While the held token is usable, nobody waits: once it is
*due* (``ahead_s`` before expiry, or half-way through a short lifetime, less a random jitter of
up to ``jitter_fraction`` of the lifetime) one background
refresh starts and callers keep the current token until the new one lands. A token is never
handed out within ``margin_s`` of its expiry.

The timing rules live in :class:`RefreshTiming` and :class:`Window`; the two holders differ
only in their lock and in how they run the background refresh, as azure-identity's sync and
async credentials mirror each other.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from shared.redaction import package_logger, redact

T = TypeVar("T")
_log = package_logger("shared.refresh")


@dataclass(frozen=True)
class RefreshTiming:
    """When a held token is refreshed (in the background) and when it stops being used."""

    ahead_s: float = 300.0  # refresh this long before expiry (azure-identity: 300 s)...
    ahead_fraction: float = 0.5  # ...but never earlier than this fraction of a short token's life
    margin_s: float = 30.0  # never hand out a token this close to expiry...
    margin_fraction: float = 0.1  # ...or, for a short token, this fraction of its life
    failure_backoff_s: float = 5.0  # after a failed background refresh, wait this long before the next
    # Refresh up to this fraction of the token's life earlier still, at random: instances started
    # together (a deploy, a scale-out) then spread their refreshes over minutes instead of all
    # asking the identity services in the same second, cycle after cycle (bench/scale.py, docs/SCALE.md).
    jitter_fraction: float = 0.1


@dataclass(frozen=True)
class Window:
    """A fetched token's lifetime as the holder sees it (epoch seconds)."""

    fetched_at: float
    expires_at: float
    refresh_at: float
    usable_until: float

    @classmethod
    def of(
        cls, fetched_at: float, expires_at: float, timing: RefreshTiming, *, jitter: float | None = None
    ) -> Window:
        """``jitter`` in [0, 1) picks how much of ``timing.jitter_fraction`` to take off (default: at random)."""
        life = max(0.0, expires_at - fetched_at)
        ahead = min(timing.ahead_s, life * timing.ahead_fraction)
        margin = min(timing.margin_s, life * timing.margin_fraction)
        draw = random.random() if jitter is None else jitter  # noqa: S311 - spreading load, not a secret
        refresh_at = max(fetched_at, expires_at - ahead - life * timing.jitter_fraction * draw)
        return cls(fetched_at, expires_at, refresh_at, expires_at - margin)

    def usable(self, now: float) -> bool:
        return now < self.usable_until

    def due(self, now: float) -> bool:
        return now >= self.refresh_at


@dataclass(frozen=True)
class Held(Generic[T]):
    """A token with its window."""

    value: T
    window: Window


Fetched = tuple[T, float]  # (token, expires_at epoch seconds)


class _HolderState(Generic[T]):
    """What both holders share: the held token, the refresh generation, background bookkeeping."""

    def __init__(self, timing: RefreshTiming, name: str) -> None:
        self.timing = timing
        self.name = name
        self._held: Held[T] | None = None
        self._generation = 0
        self._next_background_at = 0.0
        self._fetches = 0  # fetches finished, either way
        self._last_error: Exception | None = None  # of the last fetch, if it failed

    @property
    def held(self) -> Held[T] | None:
        return self._held

    def _usable(self, now: float) -> Held[T] | None:
        held = self._held
        return held if held is not None and held.window.usable(now) else None

    def _failed(self, error: Exception) -> None:
        """A fetch (run under the lock) failed: the callers waiting for it share the failure."""
        self._fetches += 1
        self._last_error = error

    def _succeeded(self, fetched: Fetched[T]) -> T:
        self._fetches += 1
        self._last_error = None
        return self._store(fetched, time.time())

    def _shared_failure(self, fetches_seen: int) -> Exception | None:
        """The failure of a fetch that finished while this caller waited for the lock: single flight
        shares it instead of starting another (a caller never waits for two deadlines)."""
        return self._last_error if self._fetches != fetches_seen else None

    def _store(self, fetched: Fetched[T], fetched_at: float) -> T:
        value, expires_at = fetched
        self._held = Held(value, Window.of(fetched_at, expires_at, self.timing))
        self._generation += 1
        return value

    def _should_start_background(self, held: Held[T], now: float) -> bool:
        return held.window.due(now) and now >= self._next_background_at

    def _background_failed(self, error: BaseException) -> None:
        self._next_background_at = time.time() + self.timing.failure_backoff_s
        _log.warning(
            "background refresh of %s failed; the held token stays in use: %s", self.name, redact(str(error))
        )


class TokenHolder(_HolderState[T]):
    """Thread-safe single-flight holder of one token."""

    def __init__(self, timing: RefreshTiming = RefreshTiming(), name: str = "token") -> None:
        super().__init__(timing, name)
        self._lock = threading.Lock()  # held for the duration of a fetch
        self._background_lock = threading.Lock()  # held only to start a background thread
        self._background: threading.Thread | None = None

    def get(self, fetch: Callable[[], Fetched[T]]) -> T:
        """The held token if usable (starting a background refresh when due), else one fetch for all."""
        now = time.time()
        held = self._usable(now)
        if held is not None:
            if self._should_start_background(held, now):
                self._start_background(fetch)
            return held.value
        fetches_seen = self._fetches
        with self._lock:
            held = self._usable(time.time())
            if held is not None:
                return held.value
            failure = self._shared_failure(fetches_seen)
            if failure is not None:
                raise failure
            return self._fetched(fetch)

    def _fetched(self, fetch: Callable[[], Fetched[T]]) -> T:
        try:
            fetched = fetch()
        except Exception as error:
            self._failed(error)
            raise
        return self._succeeded(fetched)

    def refresh(self, fetch: Callable[[], Fetched[T]]) -> T:
        """Fetch now, unless another caller fetched while this one waited for the lock."""
        generation = self._generation
        with self._lock:
            held = self._usable(time.time())
            if held is not None and self._generation != generation:
                return held.value
            return self._store(fetch(), time.time())

    def _start_background(self, fetch: Callable[[], Fetched[T]]) -> None:
        with self._background_lock:  # never the fetch lock: a caller with a usable token must not wait
            if self._background is not None and self._background.is_alive():
                return
            self._next_background_at = time.time() + self.timing.failure_backoff_s
            self._background = threading.Thread(
                target=self._run_background, args=(fetch,), name=f"refresh-{self.name}", daemon=True
            )
            self._background.start()

    def _run_background(self, fetch: Callable[[], Fetched[T]]) -> None:
        try:
            with self._lock:
                held = self._held
                if held is not None and not held.window.due(time.time()):
                    return  # a blocking fetch already replaced it
                self._fetched(fetch)
        except Exception as error:  # the held token stays in use; the next due caller retries
            self._background_failed(error)

    def join_background(self, timeout: float | None = None) -> None:
        """Wait for a running background refresh (tests and orderly shutdown)."""
        thread = self._background
        if thread is not None:
            thread.join(timeout)


class AsyncTokenHolder(_HolderState[T]):
    """Single-flight holder of one token for coroutines; never blocks the event loop."""

    def __init__(self, timing: RefreshTiming = RefreshTiming(), name: str = "token") -> None:
        super().__init__(timing, name)
        self._lock: asyncio.Lock | None = None
        self._background: asyncio.Task[None] | None = None

    def _the_lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def get(self, fetch: Callable[[], Awaitable[Fetched[T]]]) -> T:
        """The held token if usable (starting a background refresh when due), else one fetch for all."""
        now = time.time()
        held = self._usable(now)
        if held is not None:
            if self._should_start_background(held, now) and (
                self._background is None or self._background.done()
            ):
                self._next_background_at = now + self.timing.failure_backoff_s
                self._background = asyncio.get_running_loop().create_task(self._run_background(fetch))
            return held.value
        fetches_seen = self._fetches
        async with self._the_lock():
            held = self._usable(time.time())
            if held is not None:
                return held.value
            failure = self._shared_failure(fetches_seen)
            if failure is not None:
                raise failure
            try:
                fetched = await fetch()
            except Exception as error:
                self._failed(error)
                raise
            return self._succeeded(fetched)

    async def refresh(self, fetch: Callable[[], Awaitable[Fetched[T]]]) -> T:
        """Fetch now, unless another caller fetched while this one waited for the lock."""
        generation = self._generation
        async with self._the_lock():
            held = self._usable(time.time())
            if held is not None and self._generation != generation:
                return held.value
            return self._store(await fetch(), time.time())

    async def _run_background(self, fetch: Callable[[], Awaitable[Fetched[T]]]) -> None:
        try:
            async with self._the_lock():
                held = self._held
                if held is not None and not held.window.due(time.time()):
                    return
                self._store(await fetch(), time.time())
        except Exception as error:
            self._background_failed(error)

    async def join_background(self) -> None:
        """Wait for a running background refresh (tests and orderly shutdown)."""
        task = self._background
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel a running background refresh."""
        task = self._background
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
