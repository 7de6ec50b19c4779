"""The read-ahead between reading and fusing (:mod:`pifnet_engine.read_ahead`): order, one item
ahead and no more, errors where the item is asked for, a clean early close, the caller's GDAL
options in the worker."""

from __future__ import annotations

import threading
import time

import pytest
import rasterio
import rasterio.env

from pifnet_engine.activity import activity_of, doing
from pifnet_engine.read_ahead import read_ahead


def test_items_come_back_in_order_and_the_next_is_read_while_the_caller_works() -> None:
    started: list[int] = []
    threads: set[str] = set()

    def read(i: int) -> int:
        started.append(i)
        threads.add(threading.current_thread().name)
        return i * i

    seen = []
    for i, value in read_ahead(range(5), read):
        if i == 0:
            deadline = time.monotonic() + 5
            while 1 not in started and time.monotonic() < deadline:
                time.sleep(0.005)
            assert started == [0, 1]  # item 1 is being read while the caller holds item 0 ... and no further
        seen.append((i, value))
    assert seen == [(i, i * i) for i in range(5)]
    assert threads and all(name.startswith("pifnet-read-ahead") for name in threads)


def test_disabled_reads_in_the_callers_thread() -> None:
    names = []
    out = list(read_ahead(range(3), lambda i: names.append(threading.current_thread().name) or i, enabled=False))
    assert out == [(0, 0), (1, 1), (2, 2)] and set(names) == {threading.current_thread().name}


def test_an_error_of_a_read_is_raised_for_its_item_with_its_activity() -> None:
    def read(i: int) -> int:
        with doing(f"reading window {i}"):
            if i == 2:
                raise OSError("disk gone")
            return i

    got = []
    with pytest.raises(OSError, match="disk gone") as info:
        for i, _ in read_ahead(range(5), read):
            got.append(i)
    assert got == [0, 1] and activity_of(info.value) == "reading window 2"


def test_closing_early_waits_for_the_read_in_flight() -> None:
    release, running = threading.Event(), threading.Event()
    finished = []

    def read(i: int) -> int:
        if i == 1:
            running.set()
            release.wait(5)
            time.sleep(0.05)
        finished.append(i)
        return i

    gen = read_ahead(range(10), read)
    assert next(gen) == (0, 0)
    assert running.wait(5)  # item 1 is being read (one not yet started would be dropped)
    release.set()
    gen.close()  # e.g. the fusion of item 0 failed: the read of item 1 is finished before close returns
    assert finished == [0, 1]


def test_the_worker_sees_the_callers_gdal_options() -> None:
    def read(_: int) -> str | None:
        return rasterio.env.getenv().get("PIFNET_TEST_OPTION") if rasterio.env.hasenv() else None

    with rasterio.Env(PIFNET_TEST_OPTION="yes"):
        assert [v for _, v in read_ahead(range(2), read)] == ["yes", "yes"]
