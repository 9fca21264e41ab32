"""Group commit for ballots on PostgreSQL, through the core's :class:`scrm.GroupCommit`: ballots
cast at the same moment in this process share one transaction (:func:`scrm_polls.store.write_postgres`:
one statement for their rows, one for their events, one commit), instead of each paying for its own
``BEGIN``, statements and ``COMMIT``.

Ballots of one workspace share batches, up to 100, with up to 4 batches in flight. Two ballots of
one member for one poll are never written at once (the second waits until the first's batch is done,
and the unique index refuses it): two batches waiting on each other's ballot could deadlock. A ballot
the batch did not write (refused), or every ballot of a batch that failed as a whole (a reward the
points plugin refuses, a deadlock with another batch), is written again on its own
(:func:`scrm_polls.store.write_one`), so each gets its own answer and nothing is lost or written twice.
On SQLite each ballot is written on its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import scrm

from scrm_polls import store
from scrm_polls.store import Cast


async def _write_batch(kernel: scrm.Kernel, casts: Sequence[Cast]) -> list[int | None]:
    return await store.write_postgres(kernel, list(casts))


async def _write_one(kernel: scrm.Kernel, cast: Cast) -> int:
    return await store.write_one(kernel, cast)


BALLOTS: scrm.GroupCommit[Cast, int] = scrm.GroupCommit(
    "polls.ballots",
    _write_batch,
    _write_one,
    lane=lambda cast: cast.ws.id,
    conflict=lambda cast: (cast.poll.id, cast.member_id),
)


async def cast(kernel: scrm.Kernel, cast: Cast) -> int:
    """Store ``cast`` with whatever other ballots of its workspace are being cast now; its ballot id,
    or the problem that refused it."""
    return await BALLOTS.submit(kernel, cast)
