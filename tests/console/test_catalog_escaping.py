"""Every catalog message shows as written: a ``<name>`` placeholder in a message is text, not a tag
the browser swallows ("Members get the tag tier:." was the defect). Checked over every catalog in the
repository (the console's, each plugin's, the test plugin's) in both languages, through the console's
own jinja environment."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from scrm import ConsolePages
from scrm_web import i18n
from scrm_web.plugin import environment

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = sorted(
    [
        *ROOT.glob("web/src/*/translations/zh_CN/LC_MESSAGES/messages.po"),
        *ROOT.glob("plugins/*/src/*/translations/zh_CN/LC_MESSAGES/messages.po"),
        *ROOT.glob("tests/*/src/*/translations/zh_CN/LC_MESSAGES/messages.po"),
        *ROOT.glob("tests/*/*/translations/zh_CN/LC_MESSAGES/messages.po"),
    ]
)
VARIABLE = re.compile(r"%\((\w+)\)s")


def messages(po: Path) -> list[str]:
    with po.open("rb") as f:
        catalog = read_po(f, locale="zh_CN")
    return [m.id for m in catalog if m.id and isinstance(m.id, str) and m.string]


def test_every_catalog_is_found() -> None:
    found = {p.relative_to(ROOT).parts[0] for p in CATALOGS}
    assert {"web", "plugins"} <= found
    assert any("scrm_points" in str(p) for p in CATALOGS)


@pytest.fixture(autouse=True)
def own_catalogs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The tests load catalogs and pick languages of their own: the app's stay as they were."""
    monkeypatch.setattr(i18n, "_catalogs", {})
    monkeypatch.setattr(i18n, "_own", {})
    locale = i18n.current()
    yield
    i18n.use(locale)


def test_a_placeholder_in_angle_brackets_is_shown() -> None:
    i18n.load({})
    i18n.use("en")
    template = environment({}).from_string('{{ _("Members get the tag tier:<name>.") }}')
    assert template.render() == "Members get the tag tier:&lt;name&gt;."


@pytest.mark.parametrize("po", CATALOGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_message_renders_as_its_text(po: Path) -> None:
    i18n.load({"probe": po.parents[2]})
    env = environment({})
    broken = []
    for msgid in messages(po):
        names = dict.fromkeys(VARIABLE.findall(msgid), "X")
        template = env.from_string("{{ _(message, **names) }}")
        for locale in i18n.LOCALES:
            i18n.use(locale)
            text = i18n.gettext(msgid)  # the console's own translation wins over a plugin's
            rendered = template.render(message=msgid, names=names)
            if "<" in rendered or html.unescape(rendered) != text % names:
                broken.append((locale, msgid, rendered))
    assert broken == []


def test_a_plugins_templates_read_its_own_catalog_first(tmp_path: Path) -> None:
    """ "Joined" is a count on the analytics dashboard and a date on the referrals pages; "Active" a
    lifecycle stage there and a rule's switch on the points pages. A template reads the catalog of
    the plugin it belongs to, also when another one extends it."""
    plugins = {"analytics": "scrm_analytics", "referrals": "scrm_referrals", "points": "scrm_points"}
    i18n.load({name: ROOT / "plugins" / name / "src" / package / "translations" for name, package in plugins.items()})
    i18n.use("zh_CN")
    templates = {
        "analytics": {
            "joined.html": '{{ _("Joined") }} {{ _("Active") }}',
            "page.html": '{% extends "referrals/base.html" %}{% block body %}{{ _("Joined") }}{% endblock %}',
            "left.html": '{{ _("%(n)s left", n="<3>") }}',
        },
        "referrals": {
            "joined.html": '{{ _("Joined") }}',
            "base.html": '{{ _("Joined") }}:{% block body %}{% endblock %}',
        },
        "points": {"active.html": '{{ _("Active") }}'},
    }
    for plugin, files in templates.items():
        for name, source in files.items():
            (tmp_path / plugin / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / plugin / name).write_text(source)
    env = environment({plugin: ConsolePages(templates=tmp_path / plugin) for plugin in templates})

    def render(name: str) -> str:
        return env.get_template(name).render()

    assert render("analytics/joined.html") == "新增会员 活跃"
    assert render("referrals/joined.html") == "加入时间"
    assert render("points/active.html") == "启用"
    assert render("analytics/page.html") == "加入时间:新增会员"
    assert render("analytics/left.html") == "&lt;3&gt; left"
    assert env.from_string('{{ _("Members") }}').render() == "会员"  # the console's own words elsewhere
