"""Group commit for ballots on PostgreSQL, through the core's :class:`scrm.GroupCommit`: ballots
cast at the same moment in this process share one transaction — one statement reading the voters the
requests left unread (``kernel.members.lookup``), one for the ballots' rows
(:func:`scrm_polls.store.write_postgres`), one for their events, one commit — instead of each paying
for its own member read, ``BEGIN``, statements and ``COMMIT``.

The batch checks each voter it read as the request would have (:func:`scrm_polls.voters.refusal`): a
voter it cannot find, or who may not vote, is not written by the batch but on its own
(:func:`_write_one`), which reads the member again and raises the request's own problem (422, 403).

Ballots of one workspace share batches, up to 100, with up to 4 batches in flight. Two ballots of
one voter for one poll are never written at once (the second waits until the first's batch is done,
and the unique index refuses it): two batches waiting on each other's ballot could deadlock. A voter
named once by ``member_id`` and once by ``external_id`` can be in one batch (the batch writes the
first, the second goes on its own and gets its 409) or in two at once (should they deadlock, each
batch fails as a whole). A ballot the batch did not write (refused), or every ballot of a batch that
failed as a whole (a reward the points plugin refuses, a deadlock with another batch), is written
again on its own, so each gets its own answer and nothing is lost or written twice. On SQLite each
ballot is written on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import scrm

from scrm_polls import store, voters
from scrm_polls.store import Cast

#: a ballot's id and its voter's member id
Stored = tuple[int, int]


async def _with_voters(kernel: scrm.Kernel, casts: Sequence[Cast]) -> list[Cast | None]:
    """Each cast with its voter read (all in one statement), or None where the batch must leave it
    to :func:`_write_one`: no such member, a member who may not vote, a second ballot of one voter."""
    unread = [cast.ref for cast in casts if cast.member is None]
    read = iter(await kernel.members.lookup(casts[0].ws, unread) if unread else [])
    ready: list[Cast | None] = []
    seen: set[tuple[int, int]] = set()
    for cast in casts:
        member = cast.member if cast.member is not None else next(read)
        if member is None or voters.refusal(cast.poll, member) is not None or (cast.poll.id, member.id) in seen:
            ready.append(None)
            continue
        seen.add((cast.poll.id, member.id))
        ready.append(replace(cast, member=member))
    return ready


async def _write_batch(kernel: scrm.Kernel, casts: Sequence[Cast]) -> list[Stored | None]:
    ready = await _with_voters(kernel, casts)
    writing = [cast for cast in ready if cast is not None]
    ids = iter(await store.write_postgres(kernel, writing) if writing else [])
    stored: list[Stored | None] = []
    for cast in ready:
        ballot_id = next(ids) if cast is not None else None
        stored.append((ballot_id, cast.member_id) if cast is not None and ballot_id is not None else None)
    return stored


async def _write_one(kernel: scrm.Kernel, cast: Cast) -> Stored:
    if cast.member is None:
        member = await kernel.members.by_ref(cast.ws, cast.ref)
        await voters.eligible(kernel, cast.ws, cast.poll, member)
        cast = replace(cast, member=member)
    return await store.write_one(kernel, cast), cast.member_id


BALLOTS: scrm.GroupCommit[Cast, Stored] = scrm.GroupCommit(
    "polls.ballots",
    _write_batch,
    _write_one,
    lane=lambda cast: cast.ws.id,
    conflict=lambda cast: (cast.poll.id, cast.voter_key),
)


async def cast(kernel: scrm.Kernel, cast: Cast) -> Stored:
    """Store ``cast`` with whatever other ballots of its workspace are being cast now; its ballot id
    and its voter's member id, or the problem that refused it."""
    return await BALLOTS.submit(kernel, cast)
