"""Translations of the console: Babel catalogs, one language per request.

Catalogs are the ``.po`` files themselves, compiled in memory when the app starts, so the
repository holds no generated ``.mo`` files that could fall out of step. A plugin's catalog (from
its :class:`scrm.ConsolePages`) is merged into the console's, and its own templates read it first
(:class:`PluginCatalogs`):
one word can mean two things ("Joined" is a date on the referrals pages, a count on the analytics
dashboard), so a plugin's page says what its authors wrote. The language of a request is the
signed-in operator's choice, else the browser's ``Accept-Language``; it is kept in a context
variable that the templates' ``_()`` and Python's :func:`gettext` read.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from markupsafe import Markup

#: the console's languages: code → name in that language (what the switcher shows)
LOCALES = {"en": "English", "zh_CN": "简体中文"}
DEFAULT_LOCALE = "en"
CATALOGS = Path(__file__).parent / "translations"

_locale: ContextVar[str] = ContextVar("scrm_console_locale", default=DEFAULT_LOCALE)
_catalogs: dict[str, NullTranslations] = {}
#: each plugin's own catalog, by (plugin, locale): what its templates read first
_own: dict[tuple[str, str], Translations] = {}


def load(folders: Mapping[str, Path]) -> None:
    """Compile the console's catalogs and merge those in ``folders`` (plugins', by plugin name)
    into them. In the merged catalog the console's own translation of a message wins: a plugin
    translating "active" its own way must not change what the member pages say (a later catalog's
    messages replace an earlier one's). A plugin's templates read its own catalog first."""
    _catalogs.clear()
    _own.clear()
    every = [*folders.values(), CATALOGS]
    for locale in LOCALES:
        merged = NullTranslations()
        for folder in every:
            po = folder / locale / "LC_MESSAGES" / "messages.po"
            if po.exists():
                merged = _merge(merged, _compile(po, locale))
        _catalogs[locale] = merged
        for plugin, folder in folders.items():
            po = folder / locale / "LC_MESSAGES" / "messages.po"
            if po.exists():
                _own[plugin, locale] = _compile(po, locale)


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


def plugin_gettext(plugin: str, message: str, **variables: Any) -> Markup:
    """What ``_()`` is in a plugin's templates (:class:`PluginCatalogs`): the plugin's own
    translation, else the console's; escaped and formatted like :func:`html_gettext`."""
    own = _own.get((plugin, _locale.get()))
    text = own._catalog.get(message) if own is not None else None
    return Markup.escape(text or gettext(message)) % variables


class PluginCatalogs(Extension):
    """Makes ``_("...")`` in a plugin's templates read that plugin's catalog first: when a template
    file under a plugin's folder (``environment.plugin_templates``: folder → plugin) is compiled,
    its calls are rewritten to name the plugin. The console's templates a page extends
    (``base.html``) keep the console's words."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.extend(plugin_templates={})

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        plugin = self._plugin_of(stream.filename)
        if plugin is None:
            yield from stream
            return
        for token in stream:
            if token.type == "name" and token.value == "_" and stream.current.type == "lparen":
                yield Token(token.lineno, "name", "plugin_gettext")
                yield next(stream)
                yield Token(token.lineno, "string", plugin)
                yield Token(token.lineno, "comma", ",")
            else:
                yield token

    def _plugin_of(self, filename: str | None) -> str | None:
        if filename is None:
            return None
        path = Path(filename).resolve()
        folders: dict[Path, str] = self.environment.plugin_templates  # type: ignore[attr-defined]
        return next((plugin for folder, plugin in folders.items() if path.is_relative_to(folder)), None)


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
