"""Bodies holding one item or a batch of them (``POST /events``, ``POST /consents``): a JSON object
is one item, a JSON array a batch of 1 to ``MAX_BATCH``, handled alike by the services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from scrm.problems import ValidationFailed


@contextmanager
def single_item_errors(single: bool) -> Iterator[None]:
    """Errors about the one object of a non-batch body name its fields (``type``), as for any other
    route, rather than its position in a batch (``[0].type``)."""
    try:
        yield
    except ValidationFailed as exc:
        if single:
            for error in exc.errors or []:
                error["field"] = error["field"].removeprefix("[0].")
        raise
