"""Read the next batch of windows while the current one is fused and written.

One worker thread, one item ahead: at most two batches of input windows are alive at a time
(the one being fused and the one being read), so memory stays bounded by the batch size, never by
the scene. GDAL releases the GIL while it reads and decompresses, so the read overlaps the
method's numpy / torch work and the output's compression. Items come back in order; an error of a
read is raised where the caller asks for that item (with the text :func:`~pifnet_engine.activity.doing`
attached in the worker); closing the generator early (an error downstream, a signal) waits for the
read in flight, so no thread touches the inputs after the job has closed them.

The worker runs inside a :class:`rasterio.Env` with the caller's options (rasterio's environment
is per thread). A hand-written single-slot pipeline rather than a queue library: the standard
library's :class:`~concurrent.futures.ThreadPoolExecutor` gives the worker, ordering and error
propagation; all that is added here is "submit the next before yielding this one".
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import rasterio
import rasterio.env

T = TypeVar("T")
R = TypeVar("R")


def _env_options() -> dict[str, object]:
    """The GDAL options of the caller's rasterio environment ({} outside one)."""
    return dict(rasterio.env.getenv()) if rasterio.env.hasenv() else {}


def read_ahead(items: Iterable[T], read: Callable[[T], R], enabled: bool = True) -> Generator[tuple[T, R], None, None]:
    """Yield ``(item, read(item))`` for each item in order, reading the next item in a worker
    thread while the caller works on the current one (``enabled=False``: all in the caller's thread)."""
    if not enabled:
        for item in items:
            yield item, read(item)
        return
    options = _env_options()

    def task(item: T) -> R:
        with rasterio.Env(**options):
            return read(item)

    source = iter(items)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pifnet-read-ahead") as pool:
        pending: tuple[T, Future[R]] | None = None
        try:
            for first in source:
                pending = (first, pool.submit(task, first))
                break
            while pending is not None:
                item, future = pending
                value = future.result()
                pending = None
                for following in source:
                    pending = (following, pool.submit(task, following))
                    break
                yield item, value
        finally:
            if pending is not None:
                pending[1].cancel()  # not started: dropped; running: the pool's exit waits for it
