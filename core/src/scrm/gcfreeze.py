"""Keeping the garbage collector off what a server process builds at startup.

Routes, schemas, plugin modules, the kernel and its services — some 170,000 objects in ``scrm serve``
— live as long as the process, yet every full collection walks them all. A profile of batch ingest
(``bench/profile_events.py --batches``) put 38 % of the API process's samples in the request body's
conversion, and measuring it alone showed why: the conversion allocates enough to set off
collections, and with the startup objects in view one took up to ~0.5 s on a loaded machine (mean
27 ms for a 1,000-event body against a median of 1.8 ms). :func:`freeze_startup_objects` collects
once and moves what is left to the permanent generation (:func:`gc.freeze`), so later collections
only look at what requests made. Called once a server or worker process has started; never in a
test process, which builds many apps and kernels and must be able to collect them.
"""

from __future__ import annotations

import gc
from typing import Any


def freeze_startup_objects(*_: Any) -> None:
    """Collect, then freeze every object alive now (``gc.freeze``). Takes any arguments, so it can
    be a Litestar ``on_startup`` hook."""
    gc.collect()
    gc.freeze()
