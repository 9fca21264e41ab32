"""The providers: how a rendered message leaves scrm, one small class per kind.

Each ``deliver`` returns an :class:`Outcome` whose ``status`` the delivery job acts on: ``sent``;
``retry`` (a temporary failure — connection refused, a rate limit, a 5xx — tried again with backoff);
``failed`` (permanent: bad credentials, a request the provider rejects); ``bounced`` (the recipient
does not exist or refuses). The request shapes and error codes are the providers' documented ones:

- **smtp** — any SMTP server through aiosmtplib (STARTTLS or implicit TLS as configured). A 5xx reply
  to the recipient is a bounce, another 5xx a failure, a 4xx or a lost connection a retry. The
  message carries a stable ``Message-ID`` so a receiver can drop a redelivered copy.
- **sms** — the Twilio Messages API shape: ``POST {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json``
  with form fields ``To``, ``From``, ``Body`` and HTTP basic auth (sid, secret token). 201 is sent;
  429 and 5xx retry; error codes 21211/21614 (invalid or unreachable number) bounce; others fail.
- **wecom** — 企业微信 application messages: ``GET /cgi-bin/gettoken?corpid=…&corpsecret=…`` for an
  ``access_token`` (cached until it expires), then ``POST /cgi-bin/message/send?access_token=…``
  with ``{"touser", "msgtype": "text", "agentid", "text": {"content"}}``. ``errcode`` 0 is sent;
  40014/42001 (invalid or expired token) fetch a new token and retry once at once; 45009 (frequency
  limit) and -1 (system busy) retry; 81013/60111 (no such user) bounce; others fail.
- **webhook** — ``POST`` of the message as JSON to the configured URL, signed: ``X-Scrm-Timestamp``
  and ``X-Scrm-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}" with the secret>``.
  2xx is sent; 429 and 5xx retry; other 4xx fail.
"""

from __future__ import annotations

import email.policy
import hashlib
import hmac
import json
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any, ClassVar

import aiosmtplib
import httpx
import scrm

TIMEOUT_S = 15.0
#: long lines unfolded (RFC 5322's 998 limit): a long List-Unsubscribe URL must stay one plain URL,
#: which the default policy would turn into encoded words mail clients do not follow
MAIL_POLICY = email.policy.SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class Outgoing:
    """A rendered message on its way out."""

    message_id: int
    workspace_id: int
    member_id: int
    purpose: str
    recipient: str
    subject: str
    body: str
    unsubscribe_url: str | None = None


@dataclass(frozen=True)
class Outcome:
    status: str  # sent | retry | failed | bounced
    detail: str = ""


def N_(message: str) -> str:
    """Marks a label the console translates where it shows it."""
    return message


@dataclass(frozen=True)
class Field:
    """A configuration field a provider kind takes (the console builds its form from these)."""

    name: str
    label: str
    required: bool = True
    default: Any = None
    kind: type = str


class Provider(ABC):
    """A kind of provider: its name, the channel it serves, its configuration fields, and how it delivers."""

    kind: ClassVar[str]
    channel: ClassVar[str]
    fields: ClassVar[tuple[Field, ...]]

    @abstractmethod
    async def deliver(self, config: dict[str, Any], secret: str, message: Outgoing, outbound: scrm.Outbound) -> Outcome:
        """Send one message with this provider's configuration and secret; what happened. HTTP goes
        through ``outbound`` (the deployment's guard: a base URL is typed in by a workspace's operator)."""


class Smtp(Provider):
    kind = "smtp"
    channel = "email"
    fields = (
        Field("host", N_("SMTP host")),
        Field("port", N_("Port"), default=587, kind=int),
        Field("sender", N_("From address")),
        Field("sender_name", N_("From name"), required=False, default=""),
        Field("username", N_("User name"), required=False, default=""),
        Field("security", N_("Security (starttls, tls or none)"), default="starttls"),
    )

    async def deliver(self, config: dict[str, Any], secret: str, message: Outgoing, outbound: scrm.Outbound) -> Outcome:
        mail = EmailMessage(policy=MAIL_POLICY)
        mail["From"] = formataddr((config.get("sender_name") or "", config["sender"]))
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        domain = config["sender"].rpartition("@")[2] or "scrm.local"
        mail["Message-ID"] = make_msgid(f"scrm.{message.workspace_id}.{message.message_id}", domain=domain)
        if message.unsubscribe_url:  # RFC 2369 + RFC 8058 one-click
            mail["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
            mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        mail.set_content(message.body)
        security = config.get("security", "starttls")
        try:
            await aiosmtplib.send(
                mail.as_bytes(),  # flattened here, with our policy (aiosmtplib's would fold the URL)
                sender=config["sender"],
                recipients=[message.recipient],
                hostname=config["host"],
                port=int(config.get("port") or 587),
                username=config.get("username") or None,
                password=secret or None,
                use_tls=security == "tls",
                start_tls=security == "starttls",
                timeout=TIMEOUT_S,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:  # a 4xx to the recipient is "not now"
            temporary = all(400 <= r.code < 500 for r in exc.recipients)
            return Outcome(
                "retry" if temporary else "bounced", "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            )
        except aiosmtplib.SMTPAuthenticationError as exc:
            return Outcome("failed", _short(exc))
        except aiosmtplib.SMTPResponseException as exc:
            return Outcome("retry" if 400 <= exc.code < 500 else "failed", _short(exc))
        except (aiosmtplib.SMTPException, OSError) as exc:
            return Outcome("retry", _short(exc))
        return Outcome("sent", mail["Message-ID"])


class Sms(Provider):
    kind = "sms"
    channel = "sms"
    fields = (
        Field("base_url", N_("API base URL"), default="https://api.twilio.com"),
        Field("account_sid", N_("Account SID")),
        Field("sender", N_("From number")),
    )
    BOUNCE_CODES: ClassVar[frozenset[int]] = frozenset({21211, 21614, 21610})

    async def deliver(self, config: dict[str, Any], secret: str, message: Outgoing, outbound: scrm.Outbound) -> Outcome:
        url = f"{config['base_url'].rstrip('/')}/2010-04-01/Accounts/{config['account_sid']}/Messages.json"
        form = {"To": message.recipient, "From": config["sender"], "Body": message.body}
        try:
            async with outbound.client(timeout=TIMEOUT_S) as client:
                response = await client.post(url, data=form, auth=(config["account_sid"], secret))
        except scrm.OutboundRefused as exc:
            return refused(exc)
        except httpx.HTTPError as exc:
            return Outcome("retry", _short(exc))
        if response.status_code in (200, 201):
            return Outcome("sent", str(_json(response).get("sid", "")))
        body = _json(response)
        detail = f"{response.status_code} {body.get('code', '')} {body.get('message', '')}".strip()
        if response.status_code == 429 or response.status_code >= 500:
            return Outcome("retry", detail)
        if body.get("code") in self.BOUNCE_CODES:
            return Outcome("bounced", detail)
        return Outcome("failed", detail)


class WeCom(Provider):
    kind = "wecom"
    channel = "wecom"
    fields = (
        Field("base_url", N_("API base URL"), default="https://qyapi.weixin.qq.com"),
        Field("corp_id", N_("Corp ID (corpid)")),
        Field("agent_id", N_("Agent ID (agentid)"), kind=int),
    )
    TOKEN_ERRORS: ClassVar[frozenset[int]] = frozenset({40014, 42001})
    RETRY_ERRORS: ClassVar[frozenset[int]] = frozenset({45009, -1})
    BOUNCE_ERRORS: ClassVar[frozenset[int]] = frozenset({81013, 60111})
    #: access tokens per (base, corp, agent): a cache, refetched by any process that lacks one
    _tokens: ClassVar[dict[tuple[str, str, str], tuple[str, float]]] = {}

    async def deliver(self, config: dict[str, Any], secret: str, message: Outgoing, outbound: scrm.Outbound) -> Outcome:
        base = config["base_url"].rstrip("/")
        key = (base, str(config["corp_id"]), hashlib.sha256(secret.encode()).hexdigest())
        payload = {
            "touser": message.recipient,
            "msgtype": "text",
            "agentid": int(config["agent_id"]),
            "text": {"content": f"{message.subject}\n{message.body}" if message.subject else message.body},
        }
        try:
            async with outbound.client(timeout=TIMEOUT_S) as client:
                for _ in range(2):
                    token = await self._token(client, base, config, secret, key)
                    if isinstance(token, Outcome):
                        return token
                    response = await client.post(
                        f"{base}/cgi-bin/message/send", params={"access_token": token}, json=payload
                    )
                    if response.status_code >= 500:
                        return Outcome("retry", f"HTTP {response.status_code}")
                    body = _json(response)
                    code = int(body.get("errcode", -1))
                    detail = f"errcode {code} {body.get('errmsg', '')}".strip()
                    if code == 0:
                        return Outcome("sent", str(body.get("msgid", "")))
                    if code in self.TOKEN_ERRORS:
                        self._tokens.pop(key, None)
                        continue
                    if code in self.RETRY_ERRORS:
                        return Outcome("retry", detail)
                    if code in self.BOUNCE_ERRORS:
                        return Outcome("bounced", detail)
                    return Outcome("failed", detail)
        except scrm.OutboundRefused as exc:
            return refused(exc)
        except httpx.HTTPError as exc:
            return Outcome("retry", _short(exc))
        return Outcome("retry", "the access token was refused twice")

    async def _token(
        self, client: httpx.AsyncClient, base: str, config: dict[str, Any], secret: str, key: tuple[str, str, str]
    ) -> str | Outcome:
        cached = self._tokens.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        response = await client.get(
            f"{base}/cgi-bin/gettoken", params={"corpid": config["corp_id"], "corpsecret": secret}
        )
        body = _json(response)
        if response.status_code >= 500 or body.get("errcode") in self.RETRY_ERRORS:
            return Outcome("retry", f"gettoken: {body.get('errmsg', response.status_code)}")
        if body.get("errcode", 0) != 0 or "access_token" not in body:
            return Outcome("failed", f"gettoken: errcode {body.get('errcode')} {body.get('errmsg', '')}".strip())
        expires = time.monotonic() + max(60, int(body.get("expires_in", 7200)) - 300)
        self._tokens[key] = (str(body["access_token"]), expires)
        return str(body["access_token"])


class Webhook(Provider):
    kind = "webhook"
    channel = "webhook"
    fields = (Field("url", N_("Receiver URL")),)

    async def deliver(self, config: dict[str, Any], secret: str, message: Outgoing, outbound: scrm.Outbound) -> Outcome:
        body = json.dumps(
            {
                "message_id": message.message_id,
                "workspace_id": message.workspace_id,
                "member_id": message.member_id,
                "purpose": message.purpose,
                "recipient": message.recipient,
                "subject": message.subject,
                "body": message.body,
            },
            separators=(",", ":"),
        ).encode()
        headers = {"Content-Type": "application/json", **sign(secret, body)}
        try:
            async with outbound.client(timeout=TIMEOUT_S) as client:
                response = await client.post(config["url"], content=body, headers=headers)
        except scrm.OutboundRefused as exc:
            return refused(exc)
        except httpx.HTTPError as exc:
            return Outcome("retry", _short(exc))
        detail = f"HTTP {response.status_code}"
        if response.is_success:
            return Outcome("sent", detail)
        if response.status_code == 429 or response.status_code >= 500:
            return Outcome("retry", detail)
        return Outcome("failed", detail)


def sign(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The webhook's signature headers: a receiver recomputes the HMAC over ``{timestamp}.{body}``
    and rejects a stale timestamp (replay)."""
    stamp = str(int(now if now is not None else time.time()))
    mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Scrm-Timestamp": stamp, "X-Scrm-Signature": f"sha256={mac}"}


KINDS: dict[str, Provider] = {p.kind: p for p in (Smtp(), Sms(), WeCom(), Webhook())}
#: which member identity a channel sends to (``identities[...]``); a webhook needs none
IDENTITY = {"email": "email", "sms": "phone", "wecom": "wecom"}


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def refused(exc: scrm.OutboundRefused) -> Outcome:
    """A base URL the outbound guard refuses fails at once: the address will not become public by waiting."""
    return Outcome("failed", f"refused: {exc}"[:500])


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


__all__ = ["IDENTITY", "KINDS", "Field", "Outcome", "Outgoing", "Provider"]
