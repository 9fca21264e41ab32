"""The ``scrm`` command: the one entry point for running, migrating and administering scrm."""

from __future__ import annotations

import asyncio
import os
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from scrm import catalogue_cli
from scrm.kit import plugin as plugin_kit
from scrm.roles import ROLES
from scrm.settings import Settings, SettingsError

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def with_kernel(fn: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``fn(kernel)`` against a started kernel built from the environment's settings, for a
    command's body (the core's and plugins' commands alike); a bad setting, an unreachable
    database or a :class:`scrm.Problem` ends the command with one clear line instead of a traceback."""
    from scrm.plugins import PluginError
    from scrm.problems import Problem

    async def run() -> T:
        from scrm.auditing import command_context

        kernel = _kernel()
        await kernel.start()
        click_context = click.get_current_context(silent=True)
        try:
            with command_context(click_context.command_path if click_context else "scrm"):
                return await fn(kernel)
        finally:
            await kernel.stop()

    # piccolo warns (with a source line) when the server is unreachable; the OSError below says it once
    warnings.filterwarnings("ignore", message=r".*Unable to (connect to database|fetch server version)")
    try:
        return asyncio.run(run())
    except (PluginError, SettingsError) as exc:
        raise click.ClickException(str(exc)) from None
    except Problem as exc:
        raise click.ClickException(exc.detail) from None
    except OSError as exc:
        raise click.ClickException(f"cannot reach the database: {exc}") from None


class ScrmGroup(click.Group):
    """The ``scrm`` group, with each installed plugin's command (``scrm_cli``) mounted under the
    plugin's name: ``scrm lottery verify``. Plugins are loaded only when a command is looked up."""

    def _plugin_commands(self) -> dict[str, click.Command]:
        from scrm.plugins import PluginError, PluginManager

        try:
            allowed = Settings.from_env().plugins_allowed
            plugins = PluginManager()
            plugins.load_entry_points(allowed)
            declared = plugins.answers(
                "scrm_cli", "a click command", lambda command: isinstance(command, click.Command)
            )
        except (PluginError, SettingsError) as exc:
            raise click.ClickException(str(exc)) from None
        commands: dict[str, click.Command] = {}
        for name, command in declared.items():
            if name not in self.commands:
                command.name = name
                commands[name] = command
        return commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self._plugin_commands()])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or self._plugin_commands().get(cmd_name)


@click.group(cls=ScrmGroup)
@click.version_option(package_name="scrm")
def main() -> None:
    """scrm — a self-hostable, plugin-based social CRM."""


@main.command()
def migrate() -> None:
    """Apply the core's and every installed plugin's database migrations."""

    async def run(kernel: Any) -> str:
        output: str = await kernel.migrate()
        return output

    with_kernel(run)
    click.echo("migrations applied")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="API processes")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API with the configured settings."""
    _kernel()  # fail with one line before any server process starts
    _serve(host, port, workers)


def _kernel() -> Any:
    """A kernel for the environment's settings; a bad setting or broken plugin is one clear line."""
    from scrm.kernel import Kernel
    from scrm.plugins import PluginError

    try:
        return Kernel(_settings())
    except PluginError as exc:
        raise click.ClickException(str(exc)) from None


def _serve(host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    uvicorn.run(
        "scrm.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--members", default=1000, show_default=True, type=click.IntRange(0, 1_000_000))
@click.option("--no-serve", is_flag=True, help="Seed and exit without serving")
def demo(host: str, port: int, members: int, no_serve: bool) -> None:
    """Migrate an embedded database, seed a demo workspace and serve it."""
    from scrm.demo import seed
    from scrm.plugins import for_users

    # a demo shows what a user installs: not the test suite's own plugin (unless SCRM_PLUGINS says)
    os.environ.setdefault("SCRM_PLUGINS", ",".join(for_users()))
    settings = _settings()

    async def run(kernel: Any) -> Any:
        await kernel.migrate()
        return await seed(kernel, members)

    seeded = with_kernel(run)
    key = seeded.key
    base = f"http://{host}:{port}"
    click.echo(f"scrm demo — database: {settings.database}")
    click.echo(f"  workspace:  {seeded.slug} ({seeded.members} members)")
    click.echo(f"  plugins:    {', '.join(seeded.plugins) or 'none'}")
    click.echo(f"  console:    {base}/console/  (user {seeded.username!r}, password {seeded.password!r})")
    click.echo(f"  API:        {base}/api/v1/members")
    click.echo(f"  API docs:   {base}/schema/swagger")
    click.echo(f"  try:        curl -H 'Authorization: Bearer {key}' {base}/api/v1/members?limit=3")
    click.echo(f"  API key:    {key}")
    if not no_serve:
        _serve(host, port)


@main.group()
def workspaces() -> None:
    """Manage workspaces (tenants)."""


@workspaces.command("create")
@click.argument("name")
@click.option("--slug", help="URL name (default: derived from NAME)")
@click.option("--time-zone", default="UTC", show_default=True)
def workspaces_create(name: str, slug: str | None, time_zone: str) -> None:
    """Create a workspace; prints its slug on the last line."""
    from scrm.schemas import WorkspaceCreate
    from scrm.services.workspaces import Workspaces

    slug = slug or Workspaces.slugify(name)
    if not slug:
        raise click.ClickException(f"cannot derive a slug from {name!r}; pass --slug")

    async def run(kernel: Any) -> Any:
        return await kernel.workspaces.create(WorkspaceCreate(slug=slug, name=name, time_zone=time_zone))

    ws = with_kernel(run)
    click.echo(f"created workspace {ws.name!r} (id {ws.id})")
    click.echo(ws.slug)


@workspaces.command("list")
def workspaces_list() -> None:
    """List workspaces."""

    async def run(kernel: Any) -> Any:
        return await kernel.workspaces.list()

    for ws in with_kernel(run):
        click.echo(f"{ws.slug}\t{ws.id}\t{ws.name}")


@main.group()
def keys() -> None:
    """Manage API keys."""


@keys.command("create")
@click.option("--workspace", "workspace", help="Workspace slug, id or name (omit with --operator)")
@click.option("--scopes", default="*", show_default=True, help="Comma-separated scopes; * for all")
@click.option("--name", default="", help="A label for the key")
@click.option("--operator", is_flag=True, help="An operator key: manages workspaces, names one per request")
def keys_create(workspace: str | None, scopes: str, name: str, operator: bool) -> None:
    """Create an API key; prints the key (shown only this once) on the last line."""
    if operator == bool(workspace):
        raise click.ClickException("give either --workspace W or --operator")
    scope_list = [s.strip() for s in scopes.split(",") if s.strip()]
    if not scope_list:
        raise click.ClickException("--scopes: give at least one scope")

    async def run(kernel: Any) -> Any:
        ws = await kernel.workspaces.ref(workspace, by_name=True) if workspace else None
        return await kernel.keys.create(ws, scope_list, name)

    created = with_kernel(run)
    click.echo(f"created key {created.prefix}… (id {created.id}) with scopes {' '.join(created.scopes)}", err=False)
    click.echo(created.key)


@main.group()
def operators() -> None:
    """Manage console operators (people who sign in to /console) and their roles."""


def _new_password(generate: bool) -> str:
    """A password typed twice at a prompt, or a generated one (printed by the caller)."""
    import secrets

    if generate:
        return secrets.token_urlsafe(12)
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@operators.command("create")
@click.argument("username")
@click.option("--workspace", help="Workspace slug, id or name to give a role in")
@click.option("--role", type=click.Choice(ROLES), help="Role in --workspace (default: owner)")
@click.option("--admin", is_flag=True, help="Agency-level admin: every workspace, may create workspaces")
@click.option("--display-name", default="", help="Name shown in the console")
@click.option("--generate-password", is_flag=True, help="Generate a password and print it instead of prompting")
def operators_create(
    username: str, workspace: str | None, role: str | None, admin: bool, display_name: str, generate_password: bool
) -> None:
    """Create an operator account (prompts for the password)."""
    if role and not workspace:
        raise click.ClickException("--role needs --workspace")
    if not workspace and not admin:
        raise click.ClickException("give --workspace W (with --role) or --admin")
    password = _new_password(generate_password)

    async def run(kernel: Any) -> Any:
        ws = await kernel.workspaces.ref(workspace, by_name=True) if workspace else None
        async with kernel.db.transaction():
            operator = await kernel.operators.create(username, password, display_name=display_name, admin=admin)
            if ws is not None:
                await kernel.operators.grant(operator.id, ws, role or "owner")
        return operator

    operator = with_kernel(run)
    where = f"{role or 'owner'} of {workspace}" if workspace else "admin of every workspace"
    click.echo(f"created operator {operator.username!r} (id {operator.id}), {where}")
    if generate_password:
        click.echo(f"password: {password}")


@operators.command("list")
def operators_list() -> None:
    """List operators with their roles."""

    async def run(kernel: Any) -> list[tuple[Any, Any]]:
        return [(op, await kernel.operators.memberships(op)) for op in await kernel.operators.list()]

    for op, memberships in with_kernel(run):
        roles = "*" if op.admin else " ".join(f"{m.slug}:{m.role}" for m in memberships) or "-"
        state = "disabled" if op.disabled else "active"
        click.echo(f"{op.username}\t{op.id}\t{state}\t{roles}")


@operators.command("grant")
@click.argument("username")
@click.option("--workspace", required=True, help="Workspace slug, id or name")
@click.option("--role", required=True, type=click.Choice(ROLES))
def operators_grant(username: str, workspace: str, role: str) -> None:
    """Give an operator a role in a workspace (replacing the one they had there)."""

    async def run(kernel: Any) -> None:
        operator = await kernel.operators.by_username(username)
        await kernel.operators.grant(operator.id, await kernel.workspaces.ref(workspace, by_name=True), role)

    with_kernel(run)
    click.echo(f"{username} is {role} of {workspace}")


@operators.command("revoke")
@click.argument("username")
@click.option("--workspace", required=True, help="Workspace slug, id or name")
def operators_revoke(username: str, workspace: str) -> None:
    """Take an operator's role in a workspace away."""

    async def run(kernel: Any) -> None:
        operator = await kernel.operators.by_username(username)
        await kernel.operators.revoke(operator.id, await kernel.workspaces.ref(workspace, by_name=True))

    with_kernel(run)
    click.echo(f"{username} has no role in {workspace} any more")


@operators.command("password")
@click.argument("username")
@click.option("--generate-password", is_flag=True, help="Generate a password and print it instead of prompting")
def operators_password(username: str, generate_password: bool) -> None:
    """Set an operator's password and end their sessions."""
    password = _new_password(generate_password)

    async def run(kernel: Any) -> None:
        operator = await kernel.operators.by_username(username)
        await kernel.operators.set_password(operator.id, password)
        await kernel.operators.close_sessions(operator.id)

    with_kernel(run)
    click.echo(f"password of {username} changed; their sessions ended")
    if generate_password:
        click.echo(f"password: {password}")


@operators.command("disable")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Enable the account again instead")
def operators_disable(username: str, enable: bool) -> None:
    """Disable an operator (ends their sessions) or, with --enable, enable them again."""

    async def run(kernel: Any) -> None:
        operator = await kernel.operators.by_username(username)
        await kernel.operators.set_disabled(operator.id, not enable)

    with_kernel(run)
    click.echo(f"{username} {'enabled' if enable else 'disabled'}")


main.add_command(plugin_kit)


@main.group()
def plugins() -> None:
    """Installed plugins, and plugins from a catalogue: search, install, enable, disable."""


@plugins.command("list")
def plugins_list() -> None:
    """List installed plugins with their version and the scopes they ask for."""
    kernel = _kernel()
    if not kernel.plugins.plugins:
        click.echo("no plugins installed")
    for name, plugin in sorted(kernel.plugins.plugins.items()):
        m = plugin.manifest
        click.echo(f"{name}\t{m.version}\t{plugin.distribution or '-'}\t{' '.join(m.scopes) or '-'}\t{m.description}")


for _command in catalogue_cli.PLUGIN_COMMANDS:
    plugins.add_command(_command)
main.add_command(catalogue_cli.catalogue)
main.add_command(catalogue_cli.bundle)


@main.group()
def consent() -> None:
    """Check the consent ledger."""


@consent.command("verify")
@click.option("--workspace", "workspace", help="Workspace slug, id or name (default: every workspace)")
def consent_verify(workspace: str | None) -> None:
    """Recompute every consent hash chain; one line per workspace, exit status 1 when one is broken."""

    async def run(kernel: Any) -> list[tuple[str, Any]]:
        if workspace:
            targets = [await kernel.workspaces.ref(workspace, by_name=True)]
        else:
            targets = [await kernel.workspaces.ref(ws.id) for ws in await kernel.workspaces.list()]
        return [(ws.slug, await kernel.consents.verify(ws)) for ws in targets]

    _echo_chains(with_kernel(run), "consent chain")


def _echo_chains(reports: list[tuple[str, Any]], what: str) -> None:
    """One line per chain; exit status 1 naming the first broken record when one is broken."""
    broken = []
    for slug, report in reports:
        if report.ok:
            click.echo(f"{slug}\tok\t{report.records} records\thead {report.head_hash}")
        else:
            link = report.broken
            where = f"seq {link.seq}" + (f" (record {link.record_id})" if link.record_id is not None else "")
            click.echo(f"{slug}\tBROKEN\t{report.records} records\t{where}: {link.reason}")
            broken.append(f"{slug}: {where}: {link.reason}")
    if broken:
        raise click.ClickException(f"{len(broken)} {what}(s) broken; first: {broken[0]}")


@main.group()
def audit() -> None:
    """The audit trail of every write: verify its hash chains."""


@audit.command("verify")
@click.option("--workspace", "workspace", help="Workspace slug, id or name (default: every chain)")
def audit_verify(workspace: str | None) -> None:
    """Recompute every audit trail chain (the deployment's own, ``-``, among them); one line per
    chain, exit status 1 naming the first bad record when one is broken."""

    async def run(kernel: Any) -> list[tuple[str, Any]]:
        if workspace:
            ws = await kernel.workspaces.ref(workspace, by_name=True)
            return [(ws.slug, await kernel.audit.verify(ws.id))]
        slugs = {ws.id: ws.slug for ws in await kernel.workspaces.list()}
        chains = sorted(set(await kernel.audit.workspaces()) | set(slugs))
        return [
            (slugs.get(ws_id, "-" if ws_id == 0 else f"#{ws_id}"), await kernel.audit.verify(ws_id)) for ws_id in chains
        ]

    _echo_chains(with_kernel(run), "audit chain")


@main.command()
@click.option("--burst", is_flag=True, help="Run the queued jobs, then exit")
@click.option("--max-jobs", default=10, show_default=True, type=click.IntRange(1, 1000), help="Jobs run at once")
def worker(burst: bool, max_jobs: int) -> None:
    """Run background jobs (the core's and plugins') from Redis: needs SCRM_REDIS_URL."""
    from scrm.jobs import JobError
    from scrm.logs import configure_logging

    settings = _settings()
    if settings.redis_url is None:
        raise click.ClickException("scrm worker needs SCRM_REDIS_URL; without it, jobs run inside scrm serve")
    configure_logging(settings)

    async def run(kernel: Any) -> None:
        from scrm.gcfreeze import freeze_startup_objects

        names = ", ".join(sorted(kernel.jobs.registry))
        click.echo(f"scrm worker: {len(kernel.jobs.registry)} job(s): {names}")
        freeze_startup_objects()
        await kernel.jobs.work(burst=burst, max_jobs=max_jobs)

    try:
        with_kernel(run)
    except JobError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("scrm worker: stopped")


@main.group()
def outbox() -> None:
    """Delivery of stored events to plugins: how far behind it is, and retrying failures."""


@outbox.command("status")
def outbox_status() -> None:
    """Print the undelivered events, the oldest one's age and failing deliveries."""
    from scrm.services.values import now

    async def run(kernel: Any) -> Any:
        return await kernel.outbox.status()

    status = with_kernel(run)
    lag = f"{(now() - status.oldest).total_seconds():.1f} s" if status.oldest else "none"
    click.echo(f"pending: {status.pending_events} event(s) in {status.pending_rows} row(s); oldest: {lag}")
    click.echo(f"failing: {status.failing_rows} row(s)")
    if status.last_error:
        click.echo(f"last error: {status.last_error}")


@outbox.command("retry")
def outbox_retry() -> None:
    """Make every waiting delivery due now (after fixing a failing plugin)."""

    async def run(kernel: Any) -> int:
        count: int = await kernel.outbox.retry_now()
        return count

    click.echo(f"{with_kernel(run)} row(s) queued for delivery")


@main.command("makemigrations", hidden=True)
@click.argument("app_name")
def makemigrations(app_name: str) -> None:
    """Write an auto migration for a piccolo app (for core and plugin developers)."""
    from piccolo.apps.migrations.commands.new import new

    async def run(kernel: Any) -> None:
        await new(app_name=app_name, auto=True)

    with_kernel(run)


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
