"""Translations of the console: Babel catalogs, one language per request.

Catalogs are the ``.po`` files themselves, compiled in memory when the app starts, so the
repository holds no generated ``.mo`` files that could fall out of step. A plugin's catalog (from
its :class:`scrm.ConsolePages`) is merged into the console's. The language of a request is the
signed-in operator's choice, else the browser's ``Accept-Language``; it is kept in a context
variable that the templates' ``_()`` and Python's :func:`gettext` read.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from contextvars import ContextVar
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from markupsafe import Markup

#: the console's languages: code → name in that language (what the switcher shows)
LOCALES = {"en": "English", "zh_CN": "简体中文"}
DEFAULT_LOCALE = "en"
CATALOGS = Path(__file__).parent / "translations"

_locale: ContextVar[str] = ContextVar("scrm_console_locale", default=DEFAULT_LOCALE)
_catalogs: dict[str, NullTranslations] = {}


def load(folders: Iterable[Path] = ()) -> None:
    """Compile the console's catalogs and merge those in ``folders`` (plugins') into them. The
    console's own translation of a message wins: a plugin translating "active" its own way must not
    change what the member pages say (a later catalog's messages replace an earlier one's)."""
    _catalogs.clear()
    every = [*folders, CATALOGS]
    for locale in LOCALES:
        merged = NullTranslations()
        for folder in every:
            po = folder / locale / "LC_MESSAGES" / "messages.po"
            if po.exists():
                merged = _merge(merged, _compile(po, locale))
        _catalogs[locale] = merged


def _compile(po: Path, locale: str) -> Translations:
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def _merge(base: NullTranslations, more: Translations) -> NullTranslations:
    if isinstance(base, Translations):
        base.merge(more)
        return base
    return more


def use(locale: str) -> None:
    """Translate the rest of this request into ``locale`` (the default for an unknown one)."""
    _locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)


def current() -> str:
    return _locale.get()


def html_lang() -> str:
    """The current language as HTML's ``lang`` attribute writes it (``zh-CN``)."""
    return current().replace("_", "-")


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown.

    For English held in data and translated later (navigation titles, a field's error message,
    the core's role names): the extractor finds the literal here, ``gettext`` or ``_()`` translates
    the value in the request's language.
    """
    return message


def gettext(message: str) -> str:
    return _catalogs.get(_locale.get(), NullTranslations()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _catalogs.get(_locale.get(), NullTranslations()).ngettext(singular, plural, n)


def html_gettext(message: str) -> Markup:
    """``gettext`` for templates: the translation as text, escaped. Jinja's ``_()`` marks a
    translation safe before formatting it, so a message's ``<name>`` would be read as a tag and
    vanish; escaped here, every catalog message shows as written (its variables are escaped by
    Jinja). A message therefore cannot carry markup: put it in the template around ``_()``."""
    return Markup.escape(gettext(message))


def html_ngettext(singular: str, plural: str, n: int) -> Markup:
    return Markup.escape(ngettext(singular, plural, n))


def best_match(accept_language: str) -> str:
    """The console language closest to a browser's ``Accept-Language`` header."""
    ranked: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        ranked.append((quality, tag.strip().replace("-", "_").lower()))
    for _, tag in sorted(ranked, key=lambda r: -r[0]):
        for locale in LOCALES:
            if tag == locale.lower() or tag.split("_")[0] == locale.split("_")[0].lower():
                return locale
    return DEFAULT_LOCALE
