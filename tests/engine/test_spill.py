"""Arrays set aside during a run (pifnet_engine/spill.py): memory up to the budget, files beyond it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pifnet_engine.spill import SpillStore


def test_memory_up_to_the_budget_then_files_and_close_removes_the_folder(tmp_path: Path) -> None:
    a, b = np.arange(100, dtype=np.float32), np.ones((3, 4), bool)  # 400 + 12 bytes
    store = SpillStore(tmp_path, ".x.pifnet-tmp-test-", memory_bytes=500)
    first = store.put(a, b)  # fits in memory
    assert list(tmp_path.iterdir()) == [] and store.peak_disk_bytes == 0
    second = store.put(a * 2, b)  # over the budget: a file in a private folder
    (folder,) = tmp_path.iterdir()
    assert folder.name.startswith(".x.pifnet-tmp-test-") and len(list(folder.iterdir())) == 1
    assert store.peak_disk_bytes == 412
    x, y = store.take(second)
    np.testing.assert_array_equal(x, a * 2)
    assert y.dtype == bool and y.all() and list(folder.iterdir()) == []
    x, _ = store.take(first)
    np.testing.assert_array_equal(x, a)
    third = store.put(a, b)  # memory is free again
    assert list(folder.iterdir()) == [] and store.take(third)[0].sum() == a.sum()
    store.put(a, b)
    store.close()  # what was not taken, and the folder, go
    assert list(tmp_path.iterdir()) == []


def test_without_a_folder_everything_stays_in_memory() -> None:
    store = SpillStore(None, "unused", memory_bytes=0)
    tokens = [store.put(np.full(1000, i, np.float64)) for i in range(5)]
    assert [float(store.take(t)[0][0]) for t in tokens] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert store.peak_disk_bytes == 0
