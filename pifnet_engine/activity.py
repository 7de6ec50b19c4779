"""What the engine was doing when something failed, for the one-line error message.

``with doing("reading window 3 of 16 (MSI rows 0-29, cols 60-89)"):`` marks an exception that
escapes the block with that text (the innermost block wins), so the CLI's error boundary can say
*where* a disk filled up or a file vanished without a traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

ATTRIBUTE = "pifnet_activity"
#: Ends the activity of a step after the output raster was committed (e.g. its report): a failure or
#: a stop there leaves a complete raster, and the messages say so.
RASTER_COMPLETE = "(the raster itself is complete)"


@contextlib.contextmanager
def doing(what: str) -> Iterator[None]:
    """Tag any exception leaving the block with ``what`` (unless an inner block already did)."""
    try:
        yield
    except BaseException as exc:
        if getattr(exc, ATTRIBUTE, None) is None:
            with contextlib.suppress(AttributeError, TypeError):
                setattr(exc, ATTRIBUTE, what)
        raise


def activity_of(exc: BaseException) -> str | None:
    """The text :func:`doing` attached to ``exc``, if any."""
    value = getattr(exc, ATTRIBUTE, None)
    return value if isinstance(value, str) else None
