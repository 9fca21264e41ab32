"""The Chinese catalog keeps up with the console: every message in its templates and code is
translated, and the catalog holds nothing the console no longer says."""

from __future__ import annotations

from pathlib import Path

import scrm_web
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

WEB = Path(scrm_web.__file__).parent
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


def console_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        WEB,
        method_map=METHODS,
        keywords=KEYWORDS,
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_console_message_has_a_chinese_translation() -> None:
    messages = console_messages()
    assert "Sign in to scrm" in messages  # the extraction sees templates
    assert "This form has expired" in messages  # and code
    with (WEB / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="zh_CN")
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id and m.string and not m.fuzzy}
    assert sorted(messages - translated) == []
    stale = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id} - messages
    assert sorted(stale) == []
