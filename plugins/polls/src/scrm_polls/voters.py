"""Who casts a ballot: the member a ballot names, and whether they may vote in the poll.

A ballot names its voter by ``member_id`` or ``external_id``. The voter is read either by the request
(:func:`voter`) or, for most ballots on PostgreSQL, by the ballot's batch — every voter of the batch in
one statement (:mod:`scrm_polls.coalesce`) — so the checks here are split the same way: what needs only
the member row (:func:`refusal`) and what needs a read of its own (consent, in :func:`eligible`).
"""

from __future__ import annotations

from typing import Any

import scrm

from scrm_polls.polls import Poll
from scrm_polls.problems import NotEligible


def refusal(poll: Poll, member: scrm.MemberOut) -> NotEligible | None:
    """Why ``member`` may not vote in ``poll`` by what their row says — not active, lacking a required
    tag, carrying an excluded one — or None (their consent is :func:`eligible`'s to check)."""
    reason: tuple[str, str, dict[str, Any]] | None = None
    missing = sorted(set(poll.tags_required) - set(member.tags))
    excluded = sorted(set(poll.tags_excluded) & set(member.tags))
    if member.status != "active":
        reason = ("member-not-active", f"The member is {member.status}", {})
    elif missing:
        reason = ("tag-required", f"The member lacks the tag(s) {', '.join(missing)}", {"tags": missing})
    elif excluded:
        reason = ("tag-excluded", f"The member carries the tag(s) {', '.join(excluded)}", {"tags": excluded})
    return None if reason is None else NotEligible(reason[1], reason=reason[0], **reason[2])


async def eligible(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, poll: Poll, member: scrm.MemberOut) -> None:
    """Refuse (403 ``polls-not-eligible`` with a ``reason``) a member :func:`refusal` refuses, or one
    with no current grant of the poll's consent purpose (the ledger's state, not ``can_contact``:
    voting is not being contacted)."""
    refused = refusal(poll, member)
    if refused is not None:
        raise refused
    if poll.consent_purpose:
        current = {c.purpose: c.status for c in await kernel.consents.current(ws, member.id)}
        if current.get(poll.consent_purpose) != "granted":
            why = f"The member has not granted consent for {poll.consent_purpose}"
            raise NotEligible(why, reason="consent-required", purpose=poll.consent_purpose)
