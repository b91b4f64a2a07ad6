"""The last few results of a slow function, kept by their arguments: bounded memory for a server.

A public app must not keep every visitor's translations: each holds its alignment matrices
(about 2 MB for four models), and every API call is a new session. So a page keeps only the
arguments (a sentence and a beam size, a few bytes) and asks `Recent` for the result; the
newest `size` results are kept, and an evicted one is simply computed again (translation is
deterministic, so the page sees the same result).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

R = TypeVar("R")


class Recent(Generic[R]):
    """`recent(*args)` = `compute(*args)`, remembering the newest `size` results."""

    def __init__(self, compute: Callable[..., R], size: int = 16):
        if size < 1:
            raise ValueError("size must be at least 1")
        self.compute, self.size = compute, size
        self._results: OrderedDict[tuple, R] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, *args: Hashable) -> R:
        with self._lock:
            if args in self._results:
                self._results.move_to_end(args)
                return self._results[args]
        result = self.compute(*args)  # outside the lock: two requests may compute at once
        with self._lock:
            self._results[args] = result
            self._results.move_to_end(args)
            while len(self._results) > self.size:
                self._results.popitem(last=False)
        return result

    def __len__(self) -> int:
        return len(self._results)
