"""Running the engine in a child process the way a user's shell does, under real limits.

``engine`` runs ``python -m pifnet_engine ARGS`` (or a given ``-c`` program); ``FSIZE_CHILD`` is such a
program that first sets a file-size limit (what a full disk or a quota does to GDAL's writes);
``without_root_powers`` makes a root child subject to file permissions, so chmod'ed files and folders
refuse it for real (CI runs as root).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
import sys
from pathlib import Path

FSIZE_CHILD = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
from {module} import main
sys.exit(main(sys.argv[1:]))
"""

#: prctl(2) option and the capabilities that let root ignore permission bits (linux/capability.h).
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3


def digest(*paths: Path) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


def fsize_child(limit: int, module: str = "pifnet_engine.cli.main") -> str:
    return FSIZE_CHILD.format(limit=limit, module=module)


def _drop_root_powers() -> None:
    """preexec_fn: remove the permission-bypassing capabilities from the bounding set, so that the
    program exec'd next runs as root but without them (its inheritable and ambient sets are empty)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def engine(*args: str, code: str | None = None, without_root_powers: bool = False,
           cwd: Path | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "pifnet_engine", *args]
    preexec = _drop_root_powers if without_root_powers and os.geteuid() == 0 else None
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, preexec_fn=preexec, cwd=cwd)


def permissions_bind_us() -> bool:
    """True when a child started with ``without_root_powers`` is refused a file of mode 000."""
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "probe"
        probe.write_text("x")
        probe.chmod(0)
        try:
            done = engine(code=f"open({str(probe)!r}).read()", without_root_powers=True)
        except OSError:
            return False
        finally:
            probe.chmod(0o600)
        return done.returncode != 0 and "PermissionError" in done.stderr


def one_clean_error(stderr: str) -> str:
    """The last of one to three non-empty lines, asserting that there is no traceback."""
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert 1 <= len(lines) <= 3 and "Traceback" not in stderr, stderr
    return lines[-1]
