"""The Chinese catalogs keep up with the console and the first-party plugins' pages: every message in
their templates and code is translated (placeholders kept), a catalog holds nothing its package no
longer says, the core's words the console declares are still the core's, and pages come out in
Chinese."""

from __future__ import annotations

import re
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, get_args

import pytest
import scrm.problems
import scrm_web
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from console_client import SignIn, client_for, text_of
from litestar import Litestar
from scrm.kernel import Kernel
from scrm.roles import ADMIN, ROLE_DESCRIPTIONS, ROLES
from scrm.schemas import MemberStatus
from scrm.services.members import ATTRIBUTE_KEY_RULE
from scrm_web import core_messages

WEB = Path(scrm_web.__file__).parent
#: every package whose console text has a Chinese catalog: the console and every installed plugin with
#: translations (so a new first-party plugin cannot be left out)
PACKAGES = {
    module.__name__: Path(module.__file__).parent
    for module in (
        scrm_web,
        *(import_module(ep.module.split(".")[0]) for ep in entry_points(group="scrm") if ep.name != "testplugin"),
    )
    if module.__file__ and (Path(module.__file__).parent / "translations").is_dir()
}
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
PLACEHOLDER = re.compile(r"%\(\w+\)s|%%")


def console_messages(package: Path = WEB) -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        package,
        method_map=METHODS,
        keywords=KEYWORDS,
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def chinese(package: Path = WEB) -> Catalog:
    with (package / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale="zh_CN")


def test_the_extraction_sees_templates_code_and_marked_data() -> None:
    messages = console_messages()
    assert "Sign in to scrm" in messages  # the extraction sees templates
    assert "This form has expired" in messages  # and code
    assert "Team" in messages  # and messages marked with N_ (a navigation title)


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_every_console_message_has_a_chinese_translation(package: str) -> None:
    messages = console_messages(PACKAGES[package])
    assert messages
    catalog = chinese(PACKAGES[package])
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id and m.string and not m.fuzzy}
    assert sorted(messages - translated) == []
    stale = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id} - messages
    assert sorted(stale) == []


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_translations_keep_their_placeholders(package: str) -> None:
    changed = [
        m.id
        for m in chinese(PACKAGES[package])
        if m.id and isinstance(m.id, str) and sorted(PLACEHOLDER.findall(m.id)) != sorted(PLACEHOLDER.findall(m.string))
    ]
    assert changed == []


def test_the_core_words_the_console_declares_are_the_cores() -> None:
    assert set(core_messages.ROLE_NAMES) == {*ROLES, ADMIN}
    assert core_messages.ROLE_DESCRIPTIONS == ROLE_DESCRIPTIONS
    assert set(core_messages.MEMBER_STATUSES) == {*get_args(MemberStatus), "erased"}
    titles = {
        kind.title
        for kind in vars(scrm.problems).values()
        if isinstance(kind, type) and issubclass(kind, scrm.problems.Problem)
    }
    assert set(core_messages.PROBLEM_TITLES) == titles
    assert core_messages.FIELD_RULES == (ATTRIBUTE_KEY_RULE,)


async def test_pages_in_chinese(kernel: Kernel, sign_in: SignIn, tenant: Any, app: Litestar) -> None:
    await tenant.member(display_name="Li Lei")
    owner = await sign_in(tenant, "owner")
    await kernel.operators.set_locale(owner.operator_id, "zh_CN")
    base = f"/console/w/{tenant.slug}"

    members = await owner.get(f"{base}/members")
    assert members.status_code == 200
    assert '<html lang="zh-CN">' in members.text
    text = text_of(members)
    assert "Li Lei" in text
    for words in ("会员", "标签", "同意管理", "仪表盘", "团队", "API 密钥", "退出登录", "正常"):  # nav, header, status
        assert words in text, words
    assert "所有者" in text  # the role in the workspace switcher: the core's word, declared by the console

    bad_key = await owner.get(f"{base}/members", params={"attribute": "a b=c"})
    assert "键只能包含字母、数字和 _" in text_of(bad_key)  # a field rule the core checks, in its words

    dashboard = text_of(await owner.get(f"{base}/"))
    for words in ("每日事件数", "各用途的同意覆盖率", "最近 30 天"):
        assert words in dashboard, words

    team = text_of(await owner.get(f"{base}/team"))
    assert "可查看全部内容和报表，不能修改" in team  # a role's description, from the core

    viewer = await sign_in(tenant, "viewer")
    await kernel.operators.set_locale(viewer.operator_id, "zh_CN")
    refused = await viewer.get(f"{base}/team")
    assert refused.status_code == 403
    assert "无权操作" in text_of(refused)  # the core's problem title

    async with client_for(app) as anonymous:
        login = await anonymous.get("/console/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert login.status_code == 200
    assert '<html lang="zh-CN">' in login.text
    assert "登录 scrm" in text_of(login)
