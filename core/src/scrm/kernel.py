"""The kernel: settings, database, plugins and services wired together once per process.

The app factory, the CLI and the test helpers all build a :class:`Kernel`; plugins receive it
(as the ``kernel`` dependency in their routes) and reach the core only through its public services.
"""

from __future__ import annotations

import io
import logging
from contextlib import redirect_stdout
from typing import Any

from piccolo.apps.migrations.commands.forwards import run_forwards

from scrm.cache import ForgetBroadcast, ShortCache
from scrm.db import Database
from scrm.jobs import Cron, Job, Jobs
from scrm.outbound import Outbound
from scrm.pagination import Cursors
from scrm.piccolo_app import APP_CONFIG
from scrm.plugins import PluginManager
from scrm.scopes import CORE_SCOPES
from scrm.services.apps import Apps, looks_like_jwt
from scrm.services.audit import Audit
from scrm.services.consents import Consents
from scrm.services.context import WorkspaceRef
from scrm.services.events import Events
from scrm.services.keys import Keys, Principal, digest
from scrm.services.members import Members
from scrm.services.moderation import Moderation
from scrm.services.operators import OPERATOR_JOBS, Operators
from scrm.services.outbox import CORE_JOBS, Outbox
from scrm.services.partitions import PARTITION_JOBS, EventPartitions
from scrm.services.reports import Reports
from scrm.services.tags import Tags
from scrm.services.wordlist import WordList
from scrm.services.workspaces import Workspaces
from scrm.settings import Settings
from scrm.signing import Signer
from scrm.sql import Sql

log = logging.getLogger("scrm")


class MigrationError(RuntimeError):
    """A migration failed; the message carries piccolo's output."""


class Kernel:
    """Everything a running scrm process shares."""

    def __init__(self, settings: Settings, plugins: PluginManager | None = None) -> None:
        self.settings = settings
        if plugins is None:
            plugins = PluginManager()
            plugins.load_entry_points(settings.plugins_allowed)
            plugins.check_pending()
        self.plugins = plugins
        self.db = Database(settings.database, settings.db_pool_size)
        self.bind_tables()
        self.sql = Sql(self.db)
        self.cursors = Cursors(settings.secret_key)
        self.signer = Signer(settings.secret_key)
        self.outbound = Outbound(settings.outbound_allow)
        self.workspaces = Workspaces(self)
        self.members = Members(self)
        self.tags = Tags(self)
        self.keys = Keys(self)
        self.apps = Apps(self)
        self.events = Events(self)
        self.event_partitions = EventPartitions(self)
        self.consents = Consents(self)
        self.moderation = Moderation(self)
        self.wordlist = WordList(self)
        self.outbox = Outbox(self)
        self.operators = Operators(self)
        self.reports = Reports(self)
        self.audit = Audit(self)
        self.jobs = Jobs(self)
        self.jobs.register([*CORE_JOBS, *OPERATOR_JOBS, *PARTITION_JOBS], owner="scrm")
        for name, jobs in plugins.answers("scrm_jobs", "a list of scrm.Job or scrm.Cron", _are_jobs).items():
            self.jobs.register(jobs, owner=name)
        # A revoked key or a switched plugin takes effect at once in the process that changed it; in
        # the others at once with Redis (the change is announced), else when the entry expires.
        self._principals: ShortCache[str, Principal | None] = ShortCache(settings.auth_cache_s)
        self._workspaces: ShortCache[str | int, WorkspaceRef] = ShortCache(settings.auth_cache_s)
        self.forgetting = ForgetBroadcast(settings.redis_url, self._forget_here)
        self._services: dict[str, object] = {}
        for name in plugins.implementers("scrm_service"):  # last, for a kernel otherwise complete
            self.service(name)  # built now, so a plugin answering None stops startup

    def bind_tables(self) -> None:
        """Point every piccolo table of the core and the plugins at this kernel's database. Piccolo binds
        a table class once per process, so a second kernel made later (the SDK tests' server) takes
        the tables over; the first takes them back with this."""
        self.db.bind([APP_CONFIG, *self.plugins.app_configs()])

    async def start(self) -> None:
        await self.db.start()
        await self.jobs.start()
        await self.forgetting.start()

    async def stop(self) -> None:
        await self.forgetting.stop()
        await self.jobs.stop()
        await self.db.stop()

    async def migrate(self) -> str:
        """Apply the core's and every plugin's pending migrations, in dependency order."""
        if self.db.dialect.name == "sqlite":
            await self.db.fetch("PRAGMA journal_mode=WAL")
        out = io.StringIO()
        with redirect_stdout(out):
            result = await run_forwards(app_name="all")
        if not result.success:
            raise MigrationError(f"{result.message}\n{out.getvalue()}")
        return out.getvalue()

    def known_scopes(self) -> list[str]:
        scopes = list(CORE_SCOPES)
        for plugin in self.plugins.plugins.values():
            scopes += plugin.manifest.scopes
        return scopes

    def service(self, name: str, ws: WorkspaceRef | None = None) -> Any:
        """The public service of plugin ``name`` (what its ``scrm_service`` hook returned when this
        kernel was built), or None when it is not installed, has no service, or (given ``ws``) is not
        enabled in that workspace.

        This is how a plugin uses another one that may be absent: ``points =
        kernel.service("points", ws)``; ``if points is not None: await points.spend(...)``.
        """
        if ws is not None and name not in ws.enabled_plugins:
            return None
        if name not in self._services:
            self._services |= self.plugins.answers(
                "scrm_service", "its service object", _is_service, [name], kernel=self
            )
        return self._services.get(name)

    async def principal(self, key: str) -> Principal | None:
        """The principal for an API key or an app's access token, reused for a few seconds to keep
        authentication off the database on a hot path."""
        if looks_like_jwt(key):
            return await self._principals.get(digest(key), lambda: self.apps.authenticate(key))
        return await self._principals.get(digest(key), lambda: self.keys.authenticate(key))

    async def workspace_ref(self, ident: str | int) -> WorkspaceRef:
        """A workspace with its enabled plugins, reused for a few seconds (``SCRM_AUTH_CACHE_SECONDS``)."""
        return await self._workspaces.get(ident, lambda: self.workspaces.ref(ident))

    def forget_cached(self) -> None:
        """Drop cached principals and workspaces after a change to keys, workspaces or plugins, here
        and (with Redis) in every other process — once the change is committed, if it is inside a
        transaction, so that no process reloads what is about to change."""
        self._forget_here()
        if self.db.in_transaction():
            self.db.after_commit(self._forget_committed)
        else:
            self.forgetting.announce_soon()

    async def _forget_committed(self) -> None:
        self._forget_here()
        await self.forgetting.announce()

    def _forget_here(self) -> None:
        self._principals.clear()
        self._workspaces.clear()
        self.wordlist.forget()


def _are_jobs(jobs: Any) -> bool:
    return isinstance(jobs, list) and all(isinstance(job, (Job, Cron)) for job in jobs)


def _is_service(service: Any) -> bool:
    return service is not None
