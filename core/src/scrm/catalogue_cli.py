"""The catalogue's commands: ``scrm catalogue build`` and ``scrm plugins search | info | install |
enable | disable`` (``scrm plugins list`` lives with the core's commands)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from scrm import catalogue as cat
from scrm.settings import Settings
from scrm.version import __version__

SOURCE = click.option(
    "--catalogue",
    "source",
    envvar="SCRM_CATALOGUE",
    help="The catalogue: URL or path of its catalogue.json (or its directory); default $SCRM_CATALOGUE",
)
NO_DEPS = click.option("--no-deps", is_flag=True, help="Install the plugin alone (its dependencies are there already)")


def _load(source: str | None) -> tuple[cat.Catalogue, str]:
    if not source:
        raise click.ClickException("name a catalogue with --catalogue URL|PATH or SCRM_CATALOGUE")
    try:
        return cat.load(source)
    except cat.CatalogueError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("catalogue")
def catalogue() -> None:
    """Build a plugin catalogue (a static JSON index of plugin wheels)."""


@catalogue.command("build")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Default: DIRECTORY/catalogue.json"
)
@click.option("--verified", multiple=True, metavar="NAME", help="Mark this plugin verified (repeatable)")
@click.option("--name", default="", help="The catalogue's name")
def catalogue_build(directory: Path, output: Path | None, verified: tuple[str, ...], name: str) -> None:
    """Write the index of the plugin wheels in DIRECTORY: each plugin's releases with their core range,
    the scopes they ask for and their SHA-256. Verified flags and the blocklist of an index already at
    the output are kept."""
    target = output or directory / cat.INDEX_NAME
    previous = cat.load(str(target))[0] if target.exists() else None
    try:
        built = cat.build(directory, previous, set(verified), name)
    except cat.CatalogueError as exc:
        raise click.ClickException(str(exc)) from None
    target.write_bytes(cat.dump(built))
    releases = sum(len(p.releases) for p in built.plugins)
    click.echo(f"wrote {target}: {len(built.plugins)} plugin(s), {releases} release(s)")


@click.command("search")
@click.argument("text", default="")
@SOURCE
def plugins_search(text: str, source: str | None) -> None:
    """List the catalogue's plugins whose name or summary contains TEXT (all without it)."""
    found, _ = _load(source)
    matches = found.search(text)
    if not matches:
        click.echo("no plugin matches")
    for plugin in matches:
        newest = plugin.newest()
        mark = "verified" if plugin.verified else "unverified"
        click.echo(f"{plugin.name}\t{newest.version}\t{mark}\t{' '.join(newest.scopes) or '-'}\t{plugin.summary}")


@click.command("info")
@click.argument("name")
@SOURCE
def plugins_info(name: str, source: str | None) -> None:
    """Show a plugin's releases: the core versions each fits, the permissions (scopes) it asks for,
    its checksum, and whether it is blocklisted."""
    found, _ = _load(source)
    try:
        plugin = found.plugin(name)
    except cat.CatalogueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{plugin.name} ({plugin.distribution}) — {plugin.summary}")
    click.echo(f"verified: {'yes' if plugin.verified else 'no'}")
    if plugin.source:
        click.echo(f"source: {plugin.source}")
    for release in reversed(plugin.releases):  # the index lists them oldest first
        blocked = found.blocked(name, release.version)
        notes = []
        if blocked is not None:
            notes.append("BLOCKLISTED" + (f": {blocked.reason}" if blocked.reason else ""))
        if not release.fits(__version__):
            notes.append(f"incompatible with scrm {__version__}")
        click.echo(f"  {release.version}\tcore {release.core or 'any'}\t{'; '.join(notes) or 'installable'}")
        click.echo(f"    permissions: {', '.join(release.scopes) or 'none'}")
        click.echo(f"    sha256: {release.sha256}")


@click.command("install")
@click.argument("name")
@click.option("--version", "wanted", default="", help="A version or range (default: the newest that fits)")
@SOURCE
@click.option("--offline", is_flag=True, help="Take dependencies only from the catalogue's wheel directory")
@click.option("--index-url", help="The package index for dependencies (pip's --index-url)")
@click.option("--target", type=click.Path(file_okay=False, path_type=Path), help="Install into this directory")
@NO_DEPS
def plugins_install(
    name: str,
    wanted: str,
    source: str | None,
    offline: bool,
    index_url: str | None,
    target: Path | None,
    no_deps: bool,
) -> None:
    """Install a plugin from the catalogue through pip: the newest release that fits this core and is not
    blocklisted, its wheel checked against the catalogue's SHA-256; with SCRM_PLUGINS_VERIFIED_ONLY=1,
    only verified plugins."""
    if not source:
        raise click.ClickException("name a catalogue with --catalogue URL|PATH or SCRM_CATALOGUE")
    verified_only = Settings.from_env().plugins_verified_only
    try:
        plugin, release = cat.install_from(
            source,
            name,
            wanted,
            verified_only=verified_only,
            offline=offline,
            index_url=index_url,
            target=target,
            no_deps=no_deps,
        )
    except cat.CatalogueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"installed {plugin.distribution} {release.version} (sha256 checked)")
    click.echo(f"it asks for these permissions: {', '.join(release.scopes) or 'none'}")
    click.echo(f"next: scrm migrate, then scrm plugins enable {name} --workspace W")


def _switch(name: str, workspace: str, on: bool, settings: dict[str, Any] | None) -> Any:
    from scrm.cli import with_kernel

    async def run(kernel: Any) -> Any:
        ws = await kernel.workspaces.ref(workspace, by_name=True)
        return await kernel.workspaces.set_plugin(ws, name, on, settings)

    return with_kernel(run)


@click.command("enable")
@click.argument("name")
@click.option("--workspace", required=True, help="Workspace slug, id or name")
@click.option("--settings", "settings_json", help="Its settings here, as a JSON object (checked against its schema)")
@click.option("--yes", is_flag=True, help="Do not ask to confirm the permissions it asks for")
def plugins_enable(name: str, workspace: str, settings_json: str | None, yes: bool) -> None:
    """Switch an installed plugin on in a workspace, after showing the permissions it asks for."""
    from scrm.cli import _kernel

    settings = None
    if settings_json is not None:
        try:
            settings = json.loads(settings_json)
        except ValueError as exc:
            raise click.ClickException(f"--settings is not JSON: {exc}") from None
        if not isinstance(settings, dict):
            raise click.ClickException("--settings must be a JSON object")
    installed = _kernel().plugins.plugins.get(name)
    if installed is None:
        raise click.ClickException(f"no plugin {name!r} is installed (scrm plugins install {name})")
    scopes = installed.manifest.scopes
    click.echo(f"{name} asks for these permissions: {', '.join(scopes) or 'none'}")
    if not yes:
        click.confirm(f"Enable {name} in {workspace}?", abort=True)
    result = _switch(name, workspace, True, settings)
    click.echo(
        f"{name} enabled in {workspace}" + (f" with settings {json.dumps(result.settings)}" if result.settings else "")
    )


@click.command("disable")
@click.argument("name")
@click.option("--workspace", required=True, help="Workspace slug, id or name")
def plugins_disable(name: str, workspace: str) -> None:
    """Switch a plugin off in a workspace (its data and settings stay)."""
    _switch(name, workspace, False, None)
    click.echo(f"{name} disabled in {workspace}")


PLUGIN_COMMANDS = [plugins_search, plugins_info, plugins_install, plugins_enable, plugins_disable]


@click.group("bundle")
def bundle() -> None:
    """Apply a bundle of plugins and settings to a workspace, or export the one it runs."""


@bundle.command("apply")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--workspace", required=True, help="Workspace slug, id or name")
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing")
@SOURCE
@click.option("--offline", is_flag=True, help="Take dependencies only from the catalogue's wheel directory")
@click.option("--index-url", help="The package index for dependencies (pip's --index-url)")
@NO_DEPS
def bundle_apply(
    file: Path,
    workspace: str,
    dry_run: bool,
    source: str | None,
    offline: bool,
    index_url: str | None,
    no_deps: bool,
) -> None:
    """Install what FILE names and is missing (from the catalogue), enable it and configure it in the
    workspace. Settings are checked against each plugin's schema before anything changes; running it
    twice changes nothing and says so."""
    import importlib

    from scrm import bundles
    from scrm.cli import with_kernel

    try:
        wanted = bundles.parse(file.read_text(encoding="utf-8"))
    except bundles.BundleError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    missing = bundles.to_install(wanted, bundles.installed_versions())
    lines = []
    if missing:
        found, _ = _load(source)
        verified_only = Settings.from_env().plugins_verified_only
        for name, versions in sorted(missing.items()):
            try:
                if dry_run:
                    _, release = cat.choose(found, name, versions, verified_only=verified_only)
                else:
                    _, release = cat.install_from(
                        source or "",
                        name,
                        versions,
                        verified_only=verified_only,
                        offline=offline,
                        index_url=index_url,
                        no_deps=no_deps,
                    )
            except cat.CatalogueError as exc:
                raise click.ClickException(str(exc)) from None
            lines.append(
                f"install {name}: {release.version} from the catalogue, asks for {', '.join(release.scopes) or 'none'}"
            )
        importlib.invalidate_caches()

    async def run(kernel: Any) -> list[bundles.Step]:
        if missing and not dry_run:
            await kernel.migrate()
        ws = await kernel.workspaces.ref(workspace, by_name=True)
        steps = await bundles.plan(kernel, ws, wanted, set(missing) if dry_run else set())
        if not dry_run:
            await bundles.apply(kernel, ws, wanted, steps)
        return steps

    try:
        steps = with_kernel(run)
    except bundles.BundleError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    lines += [str(step) for step in steps]
    if dry_run:
        click.echo(f"plan for {workspace} (dry run: nothing changed)")
    for line in lines:
        click.echo(f"  {line}")
    if not missing and all(step.action == "unchanged" for step in steps):
        click.echo(f"nothing to change: {workspace} already runs this bundle")


@bundle.command("export")
@click.option("--workspace", required=True, help="Workspace slug, id or name")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Default: print it")
def bundle_export(workspace: str, output: Path | None) -> None:
    """Write the bundle the workspace runs today: its enabled plugins, version ranges and settings."""
    from scrm import bundles
    from scrm.cli import with_kernel

    async def run(kernel: Any) -> str:
        ws = await kernel.workspaces.ref(workspace, by_name=True)
        text: str = await bundles.export(kernel, ws)
        return text

    text = with_kernel(run)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")
