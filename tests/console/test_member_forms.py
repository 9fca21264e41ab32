"""Managing members from the console: create, edit (profile, identities, attributes), block and
unblock, erase after a confirmation, record and withdraw consent, import a file with a per-row report,
export the filtered list, the list's total. Per role, with CSRF, bad input kept in the form, and no
crossing into another workspace."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any

import httpx
import pytest
from console_client import ConsoleClient, SignIn, text_of

API = "/api/v1"


def base(tenant: Any) -> str:
    return f"/console/w/{tenant.slug}/members"


def field_error(response: httpx.Response, name: str) -> str:
    found = re.search(rf'<small class="error" id="{name}-error">([^<]*)</small>', response.text)
    assert found, f"no error next to {name}: {text_of(response)}"
    return found.group(1)


def textarea(response: httpx.Response, name: str) -> str:
    found = re.search(rf'<textarea name="{name}"[^>]*>([^<]*)</textarea>', response.text)
    assert found, f"no textarea {name}"
    return html.unescape(found.group(1))


async def member(tenant: Any, member_id: int) -> dict[str, Any]:
    response = await tenant.get(f"{API}/members/{member_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def upload(
    op: ConsoleClient, tenant: Any, name: str, content: bytes, htmx: bool = False, content_type: str = ""
) -> httpx.Response:
    content_type = content_type or ("text/csv" if name.endswith(".csv") else "application/x-ndjson")
    files = {"file": (name, content, content_type)}
    headers = {"HX-Request": "true"} if htmx else {}
    data = {"_csrf_token": await op.csrf()}
    return await op.http.post(f"{base(tenant)}/import", data=data, files=files, headers=headers)


# --- create and edit ----------------------------------------------------------------------------


async def test_an_operator_creates_a_member(tenant: Any, sign_in: SignIn) -> None:
    op = await sign_in(tenant, "operator")
    listing = await op.get(base(tenant))
    assert 'data-testid="new-member"' in listing.text
    form = await op.get(f"{base(tenant)}/new")
    assert form.status_code == 200
    created = await op.post(
        base(tenant),
        {
            "display_name": "Li Wei",
            "external_id": "crm-1",
            "identities": "email: li@example.com\r\nphone: +8613800000000",
            "attributes": "city = Shanghai\r\nvisits = 12\r\nvip = true",
        },
    )
    assert created.status_code == 303, text_of(created)
    member_id = int(created.headers["location"].rsplit("/", 1)[1])
    stored = await member(tenant, member_id)
    assert stored["display_name"] == "Li Wei"
    assert stored["external_id"] == "crm-1"
    assert stored["identities"] == {"email": "li@example.com", "phone": "+8613800000000"}
    assert stored["attributes"] == {"city": "Shanghai", "visits": 12, "vip": True}


@pytest.mark.parametrize("htmx", [False, True])
async def test_bad_input_comes_back_next_to_its_field_with_what_was_typed(
    tenant: Any, sign_in: SignIn, htmx: bool
) -> None:
    op = await sign_in(tenant, "operator")
    typed = {"display_name": "Kept <name>", "identities": "email li@example.com", "attributes": "city = Paris"}
    refused = await op.post(base(tenant), typed, htmx=htmx)
    assert refused.status_code == 422
    assert "line 1: write channel: value" in field_error(refused, "identities")
    assert 'value="Kept &lt;name&gt;"' in refused.text
    assert textarea(refused, "attributes") == "city = Paris"
    bad_channel = await op.post(base(tenant), typed | {"identities": "E-mail!: x@example.com"})
    assert bad_channel.status_code == 422
    assert field_error(bad_channel, "identities")
    await tenant.member(external_id="taken")
    duplicate = await op.post(base(tenant), {"display_name": "Twin", "external_id": "taken"})
    assert duplicate.status_code == 422
    assert field_error(duplicate, "external_id")
    assert (await tenant.get(f"{API}/members")).json()["items"][0]["external_id"] == "taken"  # nothing else made


async def test_editing_changes_only_what_changed_and_a_removed_line_removes_the_key(
    tenant: Any, sign_in: SignIn
) -> None:
    m = await tenant.member(
        display_name="Ann",
        identities={"email": "ann@example.com", "wecom": "ann-wx"},
        attributes={"city": "Paris", "visits": 3, "note": "12"},
    )
    op = await sign_in(tenant, "operator")
    form = await op.get(f"{base(tenant)}/{m['id']}/edit")
    assert form.status_code == 200
    assert (
        textarea(form, "attributes") == 'city = Paris\nnote = "12"\nvisits = 3'
    )  # text that reads as a number is quoted
    assert textarea(form, "identities") == "email: ann@example.com\nwecom: ann-wx"
    saved = await op.post(
        f"{base(tenant)}/{m['id']}",
        {
            "display_name": "Ann",
            "external_id": "",
            "identities": "email: ann@example.org",
            "attributes": 'city = Berlin\nnote = "12"\nvisits = 3\ntags_seen = ["a", "b"]',
        },
    )
    assert saved.status_code == 303, text_of(saved)
    stored = await member(tenant, m["id"])
    assert stored["identities"] == {"email": "ann@example.org"}
    assert stored["attributes"] == {"city": "Berlin", "note": "12", "visits": 3, "tags_seen": ["a", "b"]}
    bad = await op.post(f"{base(tenant)}/{m['id']}", {"attributes": "= nothing"})
    assert bad.status_code == 422
    assert "line 1: write key = value" in field_error(bad, "attributes")


# --- block, unblock, erase ------------------------------------------------------------------------------


async def test_block_unblock_and_erase_after_a_confirmation(tenant: Any, sign_in: SignIn) -> None:
    m = await tenant.member(display_name="Carl", identities={"email": "carl@example.com"}, attributes={"city": "Rome"})
    op = await sign_in(tenant, "operator")
    page = await op.get(f"{base(tenant)}/{m['id']}")
    assert 'data-testid="member-actions"' in page.text
    assert (await op.post(f"{base(tenant)}/{m['id']}/block")).status_code == 303
    assert (await member(tenant, m["id"]))["status"] == "blocked"
    assert "Unblock" in text_of(await op.get(f"{base(tenant)}/{m['id']}"))
    assert (await op.post(f"{base(tenant)}/{m['id']}/unblock")).status_code == 303
    assert (await member(tenant, m["id"]))["status"] == "active"

    confirm = await op.get(f"{base(tenant)}/{m['id']}/erase")
    assert confirm.status_code == 200
    said = text_of(confirm)
    for words in ("cannot be undone", "every identity (1)", "every attribute (1)", "consent ledger", "Erase Carl"):
        assert words in said, words
    assert (await member(tenant, m["id"]))["status"] == "active"  # asking erases nothing
    assert (await op.post(f"{base(tenant)}/{m['id']}/erase")).status_code == 303
    erased = await member(tenant, m["id"])
    assert (erased["status"], erased["display_name"], erased["identities"]) == ("erased", "", {})
    after = await op.get(f"{base(tenant)}/{m['id']}")
    assert 'data-testid="member-actions"' not in after.text
    for path in ("/edit", "/erase"):
        assert (await op.get(f"{base(tenant)}/{m['id']}{path}")).status_code == 409, path
    assert (await op.post(f"{base(tenant)}/{m['id']}/block")).status_code == 409


# --- consent --------------------------------------------------------------------------------------------


async def test_consent_is_recorded_with_the_operators_evidence_and_withdrawn(tenant: Any, sign_in: SignIn) -> None:
    m = await tenant.member(display_name="Dora")
    op = await sign_in(tenant, "operator")
    page = await op.get(f"{base(tenant)}/{m['id']}")
    assert 'data-testid="consent-form"' in page.text
    form = {"purpose": "marketing.email", "status": "granted", "evidence": "Said yes at the counter, 3 May"}
    recorded = await op.post(f"{base(tenant)}/{m['id']}/consent", form)
    assert recorded.status_code == 303, text_of(recorded)
    ledger = (await tenant.get(f"{API}/members/{m['id']}/consents")).json()
    record = ledger["current"][0]
    assert (record["purpose"], record["status"], record["source"]) == ("marketing.email", "granted", "operator")
    assert record["evidence"] == {"statement": "Said yes at the counter, 3 May", "operator_id": op.operator_id}
    shown = await op.get(recorded.headers["location"])
    assert 'id="member-consent-history" open' in shown.text  # the ledger opens on the new record
    history = shown.text.split('id="member-consent-history"', 1)[1].split("</details>", 1)[0]
    newest = text_of(httpx.Response(200, text=history.split("<tbody>", 1)[1].split("</tr>", 1)[0]))
    for words in ("marketing.email", "granted", f"operator #{op.operator_id}", "Said yes at the counter, 3 May"):
        assert words in newest, (words, newest)

    withdrawn = await op.post(
        f"{base(tenant)}/{m['id']}/consent", form | {"status": "withdrawn", "evidence": "Asked by email"}
    )
    assert withdrawn.status_code == 303
    states = (await tenant.get(f"{API}/members/{m['id']}/consents")).json()
    assert [r["status"] for r in states["history"]] == ["granted", "withdrawn"]
    assert (await tenant.get("/api/v1/consents/verify")).json()["ok"] is True


async def test_a_consent_record_without_evidence_or_purpose_is_refused_and_kept(tenant: Any, sign_in: SignIn) -> None:
    m = await tenant.member(display_name="Eve")
    op = await sign_in(tenant, "operator")
    refused = await op.post(f"{base(tenant)}/{m['id']}/consent", {"purpose": "marketing.email", "status": "granted"})
    assert refused.status_code == 422
    assert field_error(refused, "evidence")
    unknown = await op.post(
        f"{base(tenant)}/{m['id']}/consent", {"purpose": "no.such", "status": "granted", "evidence": "kept text"}
    )
    assert unknown.status_code == 422
    assert "no such purpose" in field_error(unknown, "purpose")
    assert "kept text" in textarea(unknown, "evidence")
    bad_status = await op.post(
        f"{base(tenant)}/{m['id']}/consent", {"purpose": "marketing.email", "status": "maybe", "evidence": "x"}
    )
    assert bad_status.status_code == 422
    assert (await tenant.get(f"{API}/members/{m['id']}/consents")).json()["history"] == []


# --- import and export ----------------------------------------------------------------------------------


async def test_an_import_reports_each_bad_row_and_writes_no_batch_holding_one(tenant: Any, sign_in: SignIn) -> None:
    op = await sign_in(tenant, "operator")
    page = await op.get(f"{base(tenant)}/import")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    assert 'data-progress="import-progress"' in page.text
    bad = b"external_id,display_name,status\nimp-1,Fay,active\nimp-2,Gus,asleep\n"
    report = await upload(op, tenant, "members.csv", bad, htmx=True)
    assert report.status_code == 422
    assert "<html" not in report.text  # htmx gets the report alone
    errors = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", report.text)
    assert [(line, field) for line, field, _ in errors] == [("3", "status")]
    assert 'data-testid="import-not-written"' in report.text
    assert (await tenant.get(f"{API}/members")).json()["items"] == []  # the batch was not written

    good = b'{"external_id": "imp-1", "display_name": "Fay"}\n{"external_id": "imp-2", "display_name": "Gus"}\n'
    done = await upload(op, tenant, "members.ndjson", good)
    assert done.status_code == 200
    assert "<html" in done.text
    assert re.search(r'data-testid="import-created">2<', done.text)
    assert "Every row was written." in text_of(done)
    again = await upload(op, tenant, "members.ndjson", good)
    assert re.search(r'data-testid="import-created">0<', again.text)  # matched on external_id
    assert re.search(r'data-testid="import-updated">2<', again.text)

    wrong = await upload(op, tenant, "members.xlsx", b"PK", content_type="application/vnd.ms-excel")
    assert wrong.status_code == 422
    assert "neither CSV nor NDJSON" in text_of(wrong)
    header = await upload(op, tenant, "members.csv", b"nope,nothing\n1,2\n")
    assert header.status_code in (400, 422)
    assert 'data-testid="import-report"' in header.text


async def test_the_list_shows_its_total_and_exports_what_it_filters(tenant: Any, sign_in: SignIn) -> None:
    for i in range(3):
        await tenant.member(display_name=f"Fan {i}", external_id=f"fan-{i}", tags=["fan"] if i else [])
    op = await sign_in(tenant, "operator")
    everyone = await op.get(base(tenant))
    assert "3 members match" in text_of(everyone)
    fans = await op.get(base(tenant), params={"tag": "fan"})
    assert "2 members match" in text_of(fans)
    link = re.search(r'href="([^"]*/members/export[^"]*)"', fans.text)
    assert link
    exported = await op.get(link.group(1).replace("&amp;", "&"))
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(r["external_id"] for r in rows) == ["fan-1", "fan-2"]
    one = await op.get(base(tenant), params={"q": "Fan 0"})
    assert "1 member matches" in text_of(one)


# --- roles, CSRF, isolation -------------------------------------------------------------------------------


async def test_a_viewer_sees_no_forms_and_may_change_nothing(tenant: Any, sign_in: SignIn) -> None:
    m = await tenant.member(display_name="Hal")
    viewer = await sign_in(tenant, "viewer")
    listing = await viewer.get(base(tenant))
    assert 'data-testid="new-member"' not in listing.text
    assert "/members/export" not in listing.text
    page = await viewer.get(f"{base(tenant)}/{m['id']}")
    assert 'data-testid="member-actions"' not in page.text
    assert 'data-testid="consent-form"' not in page.text
    for path in ("/new", f"/{m['id']}/edit", f"/{m['id']}/erase", "/import", "/export"):
        assert (await viewer.get(base(tenant) + path)).status_code == 403, path
    for path in ("", f"/{m['id']}", f"/{m['id']}/block", f"/{m['id']}/erase", f"/{m['id']}/consent"):
        assert (await viewer.post(base(tenant) + path, {"display_name": "X"})).status_code == 403, path
    assert (await upload(viewer, tenant, "m.csv", b"external_id\nx\n")).status_code == 403
    assert (await member(tenant, m["id"]))["status"] == "active"


async def test_every_form_needs_the_csrf_token(tenant: Any, sign_in: SignIn) -> None:
    m = await tenant.member(display_name="Ida")
    op = await sign_in(tenant, "owner")
    for path in ("", f"/{m['id']}", f"/{m['id']}/block", f"/{m['id']}/erase", f"/{m['id']}/consent"):
        refused = await op.post(base(tenant) + path, {"display_name": "X", "evidence": "x"}, csrf=False)
        assert refused.status_code == 403, path
    files = {"file": ("m.csv", b"external_id\nx\n", "text/csv")}
    assert (await op.http.post(f"{base(tenant)}/import", files=files)).status_code == 403
    stored = await member(tenant, m["id"])
    assert (stored["display_name"], stored["status"]) == ("Ida", "active")
    assert (await tenant.get(f"{API}/members")).json()["items"][0]["id"] == m["id"]


async def test_no_crossing_into_another_workspace(tenant: Any, other: Any, sign_in: SignIn) -> None:
    theirs = await other.member(display_name="Theirs", attributes={"city": "Oslo"})
    op = await sign_in(tenant, "owner")
    for path in ("/edit", "/erase"):
        assert (await op.get(f"{base(tenant)}/{theirs['id']}{path}")).status_code == 404, path
    for path in ("", "/block", "/unblock", "/erase"):
        assert (await op.post(f"{base(tenant)}/{theirs['id']}{path}", {"display_name": "Mine"})).status_code == 404, (
            path
        )
    consent = {"purpose": "marketing.email", "status": "granted", "evidence": "x"}
    assert (await op.post(f"{base(tenant)}/{theirs['id']}/consent", consent)).status_code == 404
    assert (await op.get(f"/console/w/{other.slug}/members/new")).status_code in (403, 404)
    stored = (await other.get(f"{API}/members/{theirs['id']}")).json()
    assert (stored["display_name"], stored["status"]) == ("Theirs", "active")
    assert (await other.get(f"{API}/members/{theirs['id']}/consents")).json()["history"] == []
    exported = await op.get(f"{base(tenant)}/export")
    assert "Theirs" not in exported.text
