"""The workspace word list (敏感词): the core's own moderator, its API, and its isolation."""

from __future__ import annotations

import scrm
from conftest import Tenant, problem
from scrm.kernel import Kernel
from scrm.services.wordlist import compile_terms


def test_matching_prefers_the_longest_term_and_ignores_case() -> None:
    matcher = compile_terms(
        [("最好", "ad.absolute", "high"), ("最好的", "ad.absolute", "medium"), ("Spam", "spam", "low")]
    )
    found = matcher.findings("我们是最好的, SPAM and spam, 最好")
    assert [(f.term, f.start, f.end, f.severity) for f in found] == [
        ("最好的", 3, 6, "medium"),
        ("Spam", 8, 12, "low"),
        ("Spam", 17, 21, "low"),
        ("最好", 23, 25, "high"),
    ]
    assert compile_terms([]).findings("anything") == []
    assert compile_terms([("a.b", "x", "low")]).findings("axb") == []  # terms are literal


async def test_the_word_list_moderates_every_workspace(kernel: Kernel, tenant: Tenant, other: Tenant) -> None:
    added = await tenant.post(
        "/api/v1/moderation/terms",
        {"terms": [{"term": "最好", "category": "ad.absolute", "severity": "high"}, {"term": "第一"}]},
    )
    assert added.status_code == 200, added.text
    assert [(t["term"], t["category"], t["severity"]) for t in added.json()] == [
        ("最好", "ad.absolute", "high"),
        ("第一", "wordlist", "medium"),
    ]
    ws = await kernel.workspaces.ref(tenant.id)
    found = await kernel.moderation.check(ws, text="我们是最好的")  # no plugin enabled: the core answers
    assert found == [scrm.Finding(category="ad.absolute", severity="high", start=3, end=5, term="最好", source="scrm")]
    checked = await tenant.post("/api/v1/moderation/check", {"text": "全国第一"})
    assert checked.json() == [
        {"category": "wordlist", "severity": "medium", "start": 2, "end": 4, "term": "第一", "source": "scrm"}
    ]
    assert await kernel.moderation.check(ws, media=scrm.Media(b"x", "image/png")) == []
    # another workspace's list is its own
    assert (await other.post("/api/v1/moderation/check", {"text": "最好"})).json() == []
    assert (await other.get("/api/v1/moderation/terms")).json()["items"] == []
    term_id = added.json()[0]["id"]
    problem(await other.delete(f"/api/v1/moderation/terms/{term_id}"), 404, "not-found")
    # re-adding changes the category; removing takes effect at once
    again = await tenant.post("/api/v1/moderation/terms", {"terms": [{"term": "最好", "severity": "low"}]})
    assert again.json()[0]["id"] == term_id
    assert again.json()[0]["severity"] == "low"
    assert (await tenant.delete(f"/api/v1/moderation/terms/{term_id}")).status_code == 204
    assert (await tenant.post("/api/v1/moderation/check", {"text": "最好"})).json() == []
    listed = (await tenant.get("/api/v1/moderation/terms", params={"category": "wordlist"})).json()
    assert [t["term"] for t in listed["items"]] == ["第一"]


async def test_bad_terms_are_refused(tenant: Tenant) -> None:
    for body in (
        {"terms": []},
        {"terms": [{"term": ""}]},
        {"terms": [{"term": "   "}]},
        {"terms": [{"term": "x" * 101}]},
        {"terms": [{"term": "ok", "severity": "extreme"}]},
        {"terms": [{"term": "ok", "category": "Not Dotted"}]},
        {"terms": [{"term": "ok", "extra": 1}]},
    ):
        response = await tenant.post("/api/v1/moderation/terms", body)
        assert response.status_code in (400, 422), (body, response.text)
    problem(await tenant.delete("/api/v1/moderation/terms/999999999"), 404, "not-found")
    response = await tenant.get("/api/v1/moderation/terms", params={"cursor": "forged"})
    assert response.status_code == 400
    reader = await tenant.new_key("moderation:read")
    assert (await tenant.post("/api/v1/moderation/terms", {"terms": [{"term": "x"}]}, key=reader)).status_code == 403
