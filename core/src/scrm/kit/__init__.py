"""The plugin author kit: ``scrm plugin new NAME`` writes a ready-to-install plugin distribution in the
toolkit's shape — manifest and entry point, a table with its migration, an API route with a scope, a
console page and member panel, a ``scrm_event_recorded`` hook, a zh_CN catalog, and tests on
``scrm.testing`` that pass as written. The files are the templates next to this module (``*.tmpl``),
with ``__NAME__`` (the plugin's name), ``__DIST__`` (its distribution's suffix) and ``__TITLE__``
replaced."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import click

TEMPLATE = Path(__file__).parent / "template"
#: a plugin's name as the manifest takes it
NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")

#: the one table's columns, as the migration declares them: (name, piccolo class, extra params)
COLUMNS: list[tuple[str, str, dict[str, object]]] = [
    ("id", "BigSerial", {"primary_key": True}),
    ("workspace", "BigInt", {"default": 0, "index": True}),
    ("member_id", "BigInt", {"default": 0, "index": True}),
    ("event_id", "BigInt", {"default": 0, "unique": True}),
    ("type", "Varchar", {"length": 100, "default": ""}),
    ("occurred_at", "Timestamptz", {"default": "TimestamptzNow()"}),
]


def migration(name: str, at: datetime) -> tuple[str, str]:
    """The first migration of the plugin's table (file name, text), as ``scrm makemigrations`` writes it."""
    migration_id = at.strftime("%Y-%m-%dT%H:%M:%S:%f")
    lines = [
        "from piccolo.apps.migrations.auto.migration_manager import MigrationManager",
        "from piccolo.columns.column_types import BigInt, BigSerial, Timestamptz, Varchar",
        "from piccolo.columns.defaults.timestamptz import TimestamptzNow",
        "from piccolo.columns.indexes import IndexMethod",
        "",
        f'ID = "{migration_id}"',
        'VERSION = "1.38.0"',
        'DESCRIPTION = "the record table"',
        "",
        "",
        "async def forwards():",
        f'    manager = MigrationManager(migration_id=ID, app_name="{name}", description=DESCRIPTION)',
        f'    manager.add_table(class_name="Record", tablename="{name}_record", schema=None, columns=None)',
    ]
    for column, kind, extra in COLUMNS:
        params: dict[str, object] = {"null": False, "primary_key": False, "unique": False, "index": False}
        params.update(extra)
        rendered = ", ".join(
            f'"{key}": {value if key == "default" and isinstance(value, str) and value.endswith("()") else repr(value)}'
            for key, value in params.items()
        )
        lines += [
            "    manager.add_column(",
            f'        table_class_name="Record", tablename="{name}_record", column_name="{column}",',
            f'        db_column_name="{column}", column_class_name="{kind}", column_class={kind},',
            f"        params={{{rendered}, "
            '"index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False},',
            "        schema=None,",
            "    )",
        ]
    lines += ["    return manager", ""]
    return f"{name}_{at.strftime('%Y_%m_%dt%H_%M_%S_%f')}.py", "\n".join(lines)


def scaffold(name: str, target: Path, title: str | None = None, now: datetime | None = None) -> list[Path]:
    """Write the plugin ``name`` into the new directory ``target``; returns the files written."""
    if not NAME.match(name):
        raise ValueError("a plugin name is 2 to 40 lowercase letters, digits or _, starting with a letter")
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"{target} exists and is not empty")
    words = {
        "__NAME__": name,
        "__DIST__": name.replace("_", "-"),
        "__TITLE__": title or name.replace("_", " ").capitalize(),
    }
    written = []
    for source in sorted(TEMPLATE.rglob("*.tmpl")):
        relative = source.relative_to(TEMPLATE).as_posix().removesuffix(".tmpl")
        text = source.read_text(encoding="utf-8")
        for word, value in words.items():
            relative, text = relative.replace(word, value), text.replace(word, value)
        written.append(_write(target / relative, text))
    file_name, text = migration(name, now or datetime.now(UTC))
    written.append(_write(target / "src" / f"scrm_{name}" / "migrations" / file_name, text))
    return written


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@click.group("plugin")
def plugin() -> None:
    """Write plugins: the author kit."""


@plugin.command("new")
@click.argument("name")
@click.option("--directory", "-d", type=click.Path(path_type=Path), help="Where to write it (default: ./scrm-NAME)")
@click.option("--title", help="Its human name, shown in the console (default: from NAME)")
def new(name: str, directory: Path | None, title: str | None) -> None:
    """Write a new plugin NAME, ready to install and test: manifest, table and migration, an API route,
    a console page and member panel, an event hook, a Chinese catalog and tests."""
    target = directory or Path(f"scrm-{name.replace('_', '-')}")
    try:
        files = scaffold(name, target, title)
    except (ValueError, FileExistsError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {len(files)} files into {target}/")
    click.echo(f"next:  cd {target} && uv pip install -e '.[test]' && pytest")
