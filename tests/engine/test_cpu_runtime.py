"""The OpenMP spin setting is made before torch loads, and never overrides the user's."""

from __future__ import annotations

import os
import subprocess
import sys

from pifnet_engine.cpu_runtime import SPIN_COUNT


def _spin_after_import(env_extra: dict[str, str], code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", code + "; import os; print(os.environ.get('GOMP_SPINCOUNT'))"],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_engine_import_sets_spin_count_before_torch() -> None:
    assert _spin_after_import({}, "import pifnet_engine, torch") == SPIN_COUNT


def test_user_setting_wins() -> None:
    assert _spin_after_import({"GOMP_SPINCOUNT": "123"}, "import pifnet_engine") == "123"


def test_too_late_after_torch_is_left_alone() -> None:
    assert _spin_after_import({}, "import torch, pifnet_engine") == "None"
