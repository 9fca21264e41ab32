"""One-click unsubscribe (RFC 8058): a signed link in every email that withdraws the member's consent.

Each email carries ``List-Unsubscribe: <url>`` and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``;
a mail client POSTs ``List-Unsubscribe=One-Click`` to the URL and the consent to the message's purpose
is withdrawn in the ledger with source ``unsubscribe-link`` (the token is the evidence). A GET of the
same URL (a member clicking the link in the body) shows a page with a button that POSTs: a GET never
changes anything, since link scanners fetch them. The URL is ``SCRM_PUBLIC_URL`` (the address members
reach this server at) + ``/api/v1/channels/unsubscribe/<token>``; the token is signed with the app's
secret key (``kernel.signer``, purpose ``channels-unsubscribe``) and names the workspace, member and
purpose, valid for a year.
"""

from __future__ import annotations

import os

import scrm

PURPOSE = "channels-unsubscribe"
TTL_SECONDS = 366 * 24 * 3600
PATH = "/api/v1/channels/unsubscribe/"
ENV_PUBLIC_URL = "SCRM_PUBLIC_URL"


def public_url() -> str:
    return os.environ.get(ENV_PUBLIC_URL, "http://localhost:8000").rstrip("/")


def url(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, member_id: int, purpose: str) -> str:
    token = kernel.signer.sign(PURPOSE, f"{ws.id}:{member_id}:{purpose}", TTL_SECONDS)
    return f"{public_url()}{PATH}{token}"


def read(kernel: scrm.Kernel, token: str) -> tuple[int, int, str]:
    """(workspace id, member id, purpose) of a valid token; anything else is a 404."""
    ws_id, member_id, purpose = kernel.signer.verify(PURPOSE, token).split(":", 2)
    return int(ws_id), int(member_id), purpose


async def withdraw(kernel: scrm.Kernel, token: str) -> str:
    """Withdraw the consent a token names (once: a second click appends nothing). Returns the purpose."""
    ws_id, member_id, purpose = read(kernel, token)
    ws = await kernel.workspace_ref(ws_id)
    current = {c.purpose: c.status for c in await kernel.consents.current(ws, member_id)}
    if current.get(purpose) != "withdrawn":
        await kernel.consents.append(
            ws,
            [
                scrm.ConsentIn(
                    member_id=member_id,
                    purpose=purpose,
                    status="withdrawn",
                    source="unsubscribe-link",
                    evidence={"method": "RFC 8058 one-click", "token": token[-16:]},
                )
            ],
        )
    return purpose
