"""Memory-bounded caches whose entries belong to someone: the analysis memo of a registry snapshot and the
uploaded demand and candidate sets (issue 14 §1).

:class:`OwnedCache` keeps values under keys, each charged to an **owner** (a session id; every request without a
session shares the owner :data:`ANONYMOUS`) and measured in bytes (:func:`stations.budget.nbytes`). Three budgets
bound it: the whole cache (``max_bytes``), each owner (``owner_bytes``) and, optionally, each owner's number of
entries (``owner_entries``). Making room follows one rule: **a newcomer may push out its own owner's entries, and
anyone's entries that nobody has used for ``idle_seconds``, never a live entry of someone else.** When that is not
enough room, the new value is simply not kept (:meth:`put` answers False): the caller has it for this request, and
memory stays bounded. An entry used by a second owner becomes :data:`SHARED` (the page's default analyses quickly
are): it no longer counts against its first owner, and only idleness removes it.

Nothing here imports Flask; :mod:`webmap.state` says who the owner of a request is.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Iterable

from stations.budget import nbytes

log = logging.getLogger(__name__)

ANONYMOUS = "anonymous"
SHARED = "*shared*"
_MISSING = object()


@dataclass
class Entry:
    value: Any
    owner: str
    size: int
    used: float


class OwnedCache:
    """A cache bounded by bytes, per owner and in all (see the module docstring).

    ``sizeof(value)`` measures a value (default :func:`stations.budget.nbytes`, not counting ``shared()``, the
    objects the values refer to but do not own); ``clock`` is ``time.monotonic`` unless a test gives another."""

    def __init__(self, max_bytes: int, owner_bytes: int, idle_seconds: float, *, owner_entries: int | None = None,
                 sizeof: Callable[[Any], int] | None = None, shared: Callable[[], Iterable] | None = None,
                 clock: Callable[[], float] = time.monotonic, name: str = "cache"):
        self.max_bytes = int(max_bytes)
        self.owner_bytes = int(owner_bytes)
        self.idle_seconds = float(idle_seconds)
        self.owner_entries = owner_entries
        self.shared = shared or (lambda: ())
        self.sizeof = sizeof or (lambda v: nbytes(v, self.shared()))
        self.clock = clock
        self.name = name
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self._lock = threading.RLock()
        self.total = 0
        self.refused = 0  # values not kept for want of room (for logs and tests)

    # -------------------------------------------------------------------------------------------- reading
    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self):
        return iter(self.keys())

    def get(self, key, default=None, owner: str | None = None):
        """The value under ``key`` (marked as used now), or ``default``. A use by an owner other than the one who
        put it makes the entry :data:`SHARED`."""
        with self._lock:
            e = self._entries.get(key)
            if e is None:
                return default
            e.used = self.clock()
            self._entries.move_to_end(key)
            if owner is not None and owner != e.owner and e.owner != SHARED:
                e.owner = SHARED
            return e.value

    def peek(self, key, default=None):
        """The value under ``key`` without marking it used."""
        with self._lock:
            e = self._entries.get(key)
            return default if e is None else e.value

    def owner_of(self, key) -> str | None:
        with self._lock:
            e = self._entries.get(key)
            return None if e is None else e.owner

    def bytes_of(self, owner: str) -> int:
        with self._lock:
            return sum(e.size for e in self._entries.values() if e.owner == owner)

    def keys(self) -> list:
        with self._lock:
            return list(self._entries)

    def keys_of(self, owner: str) -> list:
        with self._lock:
            return [k for k, e in self._entries.items() if e.owner == owner]

    def stats(self) -> dict:
        with self._lock:
            owners: dict[str, int] = {}
            for e in self._entries.values():
                owners[e.owner] = owners.get(e.owner, 0) + e.size
            return {"entries": len(self._entries), "bytes": self.total, "max_bytes": self.max_bytes,
                    "owners": owners, "refused": self.refused}

    # -------------------------------------------------------------------------------------------- writing
    def put(self, key, value, owner: str, size: int | None = None) -> bool:
        """Keep ``value`` under ``key`` for ``owner``; False (and nothing kept) when it does not fit the rule of
        the module docstring. ``size`` in bytes (default: measured)."""
        size = int(self.sizeof(value) if size is None else size)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.total -= old.size
            if size > self.owner_bytes or size > self.max_bytes:
                self.refused += 1
                log.info("%s: %s (%.1f MB) is larger than the %.0f MB one owner may keep; not kept", self.name, key,
                         size / 1e6, self.owner_bytes / 1e6)
                return False
            now = self.clock()
            # 1. the owner's own budget: its own least recently used entries go
            mine = [k for k, e in self._entries.items() if e.owner == owner]
            mine_bytes = sum(self._entries[k].size for k in mine)
            while mine and (mine_bytes + size > self.owner_bytes
                            or (self.owner_entries is not None and len(mine) + 1 > self.owner_entries)):
                k = mine.pop(0)
                mine_bytes -= self._drop(k)
            # 2. the whole cache: the owner's own entries, then anyone's idle ones, least recently used first
            while self.total + size > self.max_bytes:
                victim = next((k for k, e in self._entries.items()
                               if e.owner == owner or now - e.used >= self.idle_seconds), _MISSING)
                if victim is _MISSING:
                    self.refused += 1
                    log.info("%s full (%.0f of %.0f MB, live entries of other sessions); %s not kept", self.name,
                             self.total / 1e6, self.max_bytes / 1e6, key)
                    return False
                self._drop(victim)
            self._entries[key] = Entry(value, owner, size, now)
            self.total += size
            return True

    def add_size(self, key, extra: int) -> None:
        """Charge ``extra`` bytes more to an entry (a value derived from it and kept with it)."""
        with self._lock:
            e = self._entries.get(key)
            if e is not None:
                e.size += int(extra)
                self.total += int(extra)

    def pop(self, key, default=None):
        with self._lock:
            e = self._entries.get(key)
            if e is None:
                return default
            self._drop(key)
            return e.value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.total = 0

    def _drop(self, key) -> int:
        e = self._entries.pop(key)
        self.total -= e.size
        log.debug("%s: dropped %s (%.1f MB, %s)", self.name, key, e.size / 1e6, e.owner)
        return e.size
