"""Console pages that change one member: create, edit the profile, identities and attributes, block
and unblock, erase (after a page that says what erasing does), and record or withdraw consent.

Every form becomes the API's own type (``MemberCreate``, ``MemberUpdate``, ``ConsentIn``) and goes
through the same service as the API, so the console refuses exactly what the API refuses; the error
comes back next to its field with what was typed (422). Identities are typed one per line as
``channel: value``, attributes as ``key = value`` (a value that reads as JSON — a number, true,
false, null, a list or an object — is stored as that, anything else as text). A consent record from
here has the source ``operator`` and the evidence the operator types, with their operator id (never
their username, which may be an email address: the hash-chained ledger outlives everyone's erasure); the
ledger's rules (append-only, known purposes) are the service's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Template
from scrm import (
    Access,
    AccessDep,
    Conflict,
    ConsentIn,
    KernelDep,
    MemberCreate,
    MemberOut,
    MemberUpdate,
    Problem,
    ValidationFailed,
    convert_form,
)

from scrm_web import i18n
from scrm_web.auth import console_of
from scrm_web.forms import field_errors, invalid, values
from scrm_web.pages.members import MemberId, render_member, view_of
from scrm_web.respond import form_status, see_other

#: the source of every consent record made in the console
OPERATOR_SOURCE = "operator"
#: the form's fields
FIELDS = ("display_name", "external_id", "identities", "attributes")


# --- the form's text formats ------------------------------------------------------------------


def parse_identities(text: str) -> dict[str, str]:
    """``channel: value`` per line (blank lines skipped); the channel's and value's rules are the
    API's to check."""
    identities: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        channel, colon, value = line.partition(":")
        if not colon or not channel.strip() or not value.strip():
            raise invalid("identities", i18n.gettext("line %(n)s: write channel: value") % {"n": number})
        identities[channel.strip()] = value.strip()
    return identities


def _value(text: str) -> Any:
    """An attribute's value: JSON when it reads as a number, boolean, null, list or object (or a
    quoted string), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_attributes(text: str) -> dict[str, Any]:
    """``key = value`` per line (blank lines skipped)."""
    attributes: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, equals, value = line.partition("=")
        if not equals or not key.strip():
            raise invalid("attributes", i18n.gettext("line %(n)s: write key = value") % {"n": number})
        attributes[key.strip()] = _value(value.strip())
    return attributes


def show_value(value: Any) -> str:
    """The inverse of :func:`_value`: text as it is (unless it would read as JSON), the rest as JSON."""
    if isinstance(value, str) and _value(value) == value:
        return value
    return json.dumps(value, ensure_ascii=False)


def form_of(member: MemberOut) -> dict[str, str]:
    """The edit form's fields for ``member``."""
    return {
        "display_name": member.display_name,
        "external_id": member.external_id or "",
        "identities": "\n".join(f"{k}: {v}" for k, v in sorted(member.identities.items())),
        "attributes": "\n".join(f"{k} = {show_value(v)}" for k, v in sorted(member.attributes.items())),
    }


def _typed(form: Mapping[str, Any]) -> dict[str, str]:
    """The submitted fields, a textarea's line breaks as one ``\\n``."""
    return {k: v.replace("\r\n", "\n") for k, v in values(form).items()}


def _errors(exc: Problem) -> dict[str, str]:
    """Errors by the form's fields (``identities.email`` is the identities field's)."""
    return {(k if k in FIELDS else ""): v for k, v in field_errors(exc).items()}


# --- create and edit ----------------------------------------------------------------------------


def _form(
    request: Request[Any, Any, Any],
    typed: Mapping[str, str],
    errors: Mapping[str, str],
    member: MemberOut | None = None,
    status: int = 200,
) -> Template:
    base = f"{console_of(request).base}/members"
    context = {
        "member": member,
        "values": typed,
        "errors": errors,
        "action": f"{base}/{member.id}" if member else base,
        "back": f"{base}/{member.id}" if member else base,
    }
    return Template("console/member_form.html", context=context, status_code=status)


@get("/members/new", opt={"scope": "members:write"})
async def new_member(request: Request[Any, Any, Any]) -> Template:
    return _form(request, {}, {})


@post("/members", opt={"scope": "members:write"})
async def create_member(
    request: Request[Any, Any, Any], kernel: KernelDep, access: AccessDep
) -> Template | Response[Any]:
    """Create a member from the form; a refused field comes back next to it with what was typed."""
    typed = _typed(await request.form())
    try:
        data = {
            "display_name": typed.get("display_name", ""),
            "external_id": typed.get("external_id") or None,
            "identities": parse_identities(typed.get("identities", "")),
            "attributes": parse_attributes(typed.get("attributes", "")),
        }
        member = await kernel.members.create(access.workspace, convert_form(data, MemberCreate))
    except Problem as exc:
        return _form(request, typed, _errors(exc), status=form_status(exc))
    return see_other(request, f"{console_of(request).base}/members/{member.id}")


@get("/members/{member_id:int}/edit", opt={"scope": "members:write"})
async def edit_member(
    request: Request[Any, Any, Any], kernel: KernelDep, access: AccessDep, member_id: MemberId
) -> Template:
    member = await _changeable(kernel, access, member_id)
    return _form(request, form_of(member), {}, member)


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """What changed between two dicts, as a merge patch: new or changed keys, and ``None`` for a
    key that is gone."""
    patch = {k: v for k, v in after.items() if before.get(k, ...) != v}
    return patch | {k: None for k in before.keys() - after.keys()}


@post("/members/{member_id:int}", opt={"scope": "members:write"})
async def update_member(
    request: Request[Any, Any, Any], kernel: KernelDep, access: AccessDep, member_id: MemberId
) -> Template | Response[Any]:
    """Save the profile: only what changed is sent, identities and attributes as a merge patch (a
    line removed removes that key)."""
    member = await _changeable(kernel, access, member_id)
    typed = _typed(await request.form())
    try:
        data: dict[str, Any] = {}
        if typed.get("display_name", "") != member.display_name:
            data["display_name"] = typed.get("display_name", "")
        if (typed.get("external_id") or None) != member.external_id:
            data["external_id"] = typed.get("external_id") or None
        identities = changes(member.identities, parse_identities(typed.get("identities", "")))
        attributes = changes(member.attributes, parse_attributes(typed.get("attributes", "")))
        if identities:
            data["identities"] = identities
        if attributes:
            data["attributes"] = attributes
        if data:
            await kernel.members.update(access.workspace, member_id, convert_form(data, MemberUpdate))
    except Problem as exc:
        if exc.status == 404:
            raise
        return _form(request, typed, _errors(exc), member, status=form_status(exc))
    return see_other(request, f"{console_of(request).base}/members/{member_id}")


async def _changeable(kernel: KernelDep, access: Access, member_id: int) -> MemberOut:
    """The member, unless erased: an erased member holds nothing to change (a 409)."""
    member = await kernel.members.get(access.workspace, member_id)
    if member.status == "erased":
        raise Conflict(i18n.gettext("Member %(id)s was erased: nothing to change") % {"id": member_id})
    return member


# --- block, unblock, erase ----------------------------------------------------------------------------


async def _set_status(
    request: Request[Any, Any, Any], kernel: KernelDep, access: Access, member_id: int, status: str
) -> Response[Any]:
    await _changeable(kernel, access, member_id)
    await kernel.members.update(access.workspace, member_id, convert_form({"status": status}, MemberUpdate))
    return see_other(request, f"{console_of(request).base}/members/{member_id}")


@post("/members/{member_id:int}/block", opt={"scope": "members:write"})
async def block_member(
    request: Request[Any, Any, Any], kernel: KernelDep, access: AccessDep, member_id: MemberId
) -> Response[Any]:
    """Block: the member is kept, but the consent door answers no for every purpose."""
    return await _set_status(request, kernel, access, member_id, "blocked")


@post("/members/{member_id:int}/unblock", opt={"scope": "members:write"})
async def unblock_member(
    request: Request[Any, Any, Any], kernel: KernelDep, access: AccessDep, member_id: MemberId
) -> Response[Any]:
    return await _set_status(request, kernel, access, member_id, "active")


@get("/members/{member_id:int}/erase", opt={"scope": "members:write"})
async def confirm_erase(
    request: Request[Any, Any, Any], kernel: KernelDep, access: AccessDep, member_id: MemberId
) -> Template:
    """The confirmation: what erasing removes and what it keeps, before the button that does it."""
    member = await _changeable(kernel, access, member_id)
    context = {"member": member, "url": f"{console_of(request).base}/members/{member_id}"}
    return Template("console/member_erase.html", context=context)


@post("/members/{member_id:int}/erase", opt={"scope": "members:write"})
async def erase_member(
    request: Request[Any, Any, Any], kernel: KernelDep, access: AccessDep, member_id: MemberId
) -> Response[Any]:
    """Erase the member (as ``DELETE /api/v1/members/{id}`` does) and show what is left."""
    await _changeable(kernel, access, member_id)
    await kernel.members.erase(access.workspace, member_id)
    return see_other(request, f"{console_of(request).base}/members/{member_id}")


# --- consent ------------------------------------------------------------------------------------------


@post("/members/{member_id:int}/consent", opt={"scope": "consent:write"})
async def record_consent(
    request: Request[Any, Any, Any], kernel: KernelDep, access: AccessDep, member_id: MemberId
) -> Template | Response[Any]:
    """Append a grant or a withdrawal to the ledger for this member: source ``operator``, the
    evidence the operator typed (required: the ledger must say why) and who they are. A refused
    record comes back on the member page next to its field."""
    typed = _typed(await request.form())
    console = console_of(request)
    try:
        evidence = typed.get("evidence", "")
        if not evidence:
            raise invalid("evidence", i18n.gettext("say how the member gave or withdrew consent"))
        record = {
            "member_id": member_id,
            "purpose": typed.get("purpose", ""),
            "status": typed.get("status", ""),
            "source": OPERATOR_SOURCE,
            "policy_version": typed.get("policy_version", ""),
            "evidence": {"statement": evidence, "operator_id": console.operator.id},
        }
        await kernel.consents.append(access.workspace, [convert_form(record, ConsentIn)])
    except ValidationFailed as exc:
        view = await view_of(request, kernel, access, member_id)
        view.consent_values, view.consent_errors = typed, record_errors(exc)
        return render_member(view, 422)
    return see_other(request, f"{console.base}/members/{member_id}?recorded=1#member-consent-history")


def record_errors(problem: Problem) -> dict[str, str]:
    """A refused record's errors by the form's field: the ledger names them ``[0].purpose``."""
    errors: dict[str, str] = {}
    for error in problem.errors or []:
        name = str(error.get("field", "")).rsplit(".", 1)[-1].split("[")[0]
        errors.setdefault(name, i18n.gettext(str(error.get("message", ""))))
    return errors or {"": i18n.gettext(problem.detail)}


routes = [
    new_member,
    create_member,
    edit_member,
    update_member,
    block_member,
    unblock_member,
    confirm_erase,
    erase_member,
    record_consent,
]
