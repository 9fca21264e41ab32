"""Every hook a plugin can implement — the plugin contract, in one module.

Plugins implement hooks with ``scrm.hookimpl``. A function that is not marked is not a hook: the
core calls every hook through pluggy and never looks a function up by name (startup reports an
unmarked function named like a hook, a likely mistake). An implementation may accept any subset of
a spec's arguments, so adding an argument later breaks no plugin. Hooks whose spec takes ``kernel``
receive the process's :class:`scrm.Kernel` (for its services and ``kernel.service(...)``): take it
when you need it.

The registration hooks (``scrm_manifest``, ``scrm_tables``, ``scrm_routes``, ``scrm_jobs``,
``scrm_cli``, ``scrm_service``, ``scrm_settings_schema`` and ``scrm_console_pages``) are plain functions, called once per
plugin while the app, the kernel or the CLI is built. The core asks each plugin on its own and checks
the answer where it asks: an answer of the wrong kind (None included) stops startup with one
``PluginError`` naming the plugin. Every other hook may also be ``async``: the core awaits whatever
comes back. Names say what comes back: ``scrm_manifest`` returns one manifest,
``scrm_tables`` / ``scrm_routes`` return what the plugin registers; ``scrm_member_*`` and
``scrm_tags_changed`` react to a committed change and return nothing.

Domain hooks run after the change is committed, in the request that made it; an exception in a
plugin's implementation is logged and does not undo the change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from litestar.types import ControllerRouterHandler
    from piccolo.conf.apps import AppConfig

    from scrm.console import ConsolePages, MemberPanel
    from scrm.jobs import Cron, Job
    from scrm.kernel import Kernel
    from scrm.manifest import Manifest
    from scrm.schemas import EventOut
    from scrm.services.context import WorkspaceRef
    from scrm.services.members import MemberCondition
    from scrm.services.moderation import Finding, Media
    from scrm.services.operators import Access

hookspec = pluggy.HookspecMarker("scrm")

# ---------------------------------------------------------------------------------------------
# Registration: called once when the app (or the CLI) starts.
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def scrm_manifest() -> Manifest:
    """Return the plugin's :class:`scrm.Manifest`: name, version, compatible core versions, scopes.

    Required of every plugin. The manifest's ``name`` is the plugin's one name: its entry point,
    its piccolo app, its table prefix, its route prefix ``/api/v1/<name>`` and its settings key.
    """


@hookspec(firstresult=True)
def scrm_tables() -> AppConfig:
    """Return the plugin's piccolo ``AppConfig``: its tables and migrations folder.

    ``scrm migrate`` applies its migrations after the core's (declare
    ``migration_dependencies=["scrm.piccolo_app"]`` where a table refers to a core table). Table names must
    start with ``<name>_``.
    """


@hookspec(firstresult=True)
def scrm_routes() -> list[ControllerRouterHandler]:
    """Return a list of the plugin's route handlers, controllers and routers.

    They are mounted under ``/api/v1/<name>``, behind API-key authentication, and answer only in
    workspaces where the plugin is enabled (404 ``plugin-not-enabled`` elsewhere). Every handler
    must declare its scope with ``opt={"scope": "<name>:read"}``: one of the manifest's ``scopes``
    (or a core scope such as ``members:read``); a route with no scope, or a scope no manifest
    declares, stops startup.
    """


@hookspec
def scrm_jobs() -> list[Job | Cron]:
    """Return a list of the plugin's background jobs (:class:`scrm.Job`) and cron jobs
    (:class:`scrm.Cron`).

    Names start with ``<name>.`` (``points.expire``). ``scrm worker`` runs them on arq; in the
    embedded default (no ``SCRM_REDIS_URL``) they run inside the server process. A job is enqueued
    with ``kernel.jobs.enqueue("points.expire", workspace_id=1)`` and receives a
    :class:`scrm.JobContext` and those keyword arguments. Jobs may run more than once (a retry, a
    worker killed mid-job): make them idempotent.
    """


@hookspec
def scrm_passive_event_types() -> list[str]:
    """Return the type prefixes (``"segments."``) of events the plugin records *about* members rather
    than *by* them — a stage reached, a segment entered: they are not engagement, so their delivery
    does not move a member's ``last_active_at`` (``kernel.events.is_engagement``). The core's own
    ``member.``, ``tags.`` and ``consent.`` are always passive.
    """


@hookspec(firstresult=True)
def scrm_cli() -> click.Command:
    """Return a click command (usually a group) mounted as ``scrm <name>``: ``scrm lottery verify``.

    Its name is replaced by the plugin's. A command that needs the database wraps its body in
    ``scrm.with_kernel(async_fn)``, which builds and starts a kernel from the environment's settings,
    passes it to ``async_fn`` and stops it; problems end the command with one clear line.
    """


@hookspec(firstresult=True)
def scrm_service(kernel: Kernel) -> object:
    """Return the service object other plugins reach as ``kernel.service("<name>", ws)``.

    Called once per kernel, as it is built (a plugin that implements this hook and returns None
    stops startup); the service receives the kernel it serves. This is how plugins cooperate
    without importing each other: a lottery that costs points asks for ``kernel.service("points",
    ws)`` and gets the points plugin's service, or None when points is not installed or not enabled
    in ``ws`` — and then works without it. Document the service's methods as your plugin's public
    API; callers should describe what they use with a ``typing.Protocol`` of their own rather than
    import your package.
    """


@hookspec(firstresult=True)
def scrm_settings_schema() -> type | dict[str, Any]:
    """Return the schema of the plugin's settings in a workspace: a msgspec ``Struct`` type (give
    every field a default) or a JSON Schema (a dict, Draft 2020-12).

    Called once, when the plugin is registered; a schema that is neither, or an invalid JSON Schema,
    stops startup. Settings are validated against it wherever they are set (``POST /api/v1/plugins``,
    the console's plugin settings, ``scrm bundle apply``): a 422 names ``settings.<field>``. With a
    Struct the stored settings are its converted value (defaults filled in). ``GET /api/v1/plugins``
    shows the schema as JSON Schema, so consoles and bundles can check settings before sending them.
    A plugin without this hook takes any JSON object as its settings.
    """


@hookspec(firstresult=True)
def scrm_console_pages() -> ConsolePages:
    """Return the plugin's :class:`scrm.ConsolePages`: console routes, navigation entries, templates
    and translations. Called once when the app is built, only when the console (``scrm-web``) is
    installed.

    Routes are mounted under ``/console/w/{workspace}/<name>`` and answer only where the plugin is
    enabled. Each handler declares the scope it needs (``opt={"scope": "<name>:read"}``), which the
    console checks against the operator's role in the workspace; it can ask for the dependencies
    ``access`` (:class:`scrm.Access`) and ``ws`` (:class:`scrm.WorkspaceRef`). Forms must carry the
    CSRF token (``{{ csrf_input }}``); templates extend ``console/base.html``.
    """


@hookspec
def scrm_member_panels(
    workspace: WorkspaceRef, member: dict[str, Any], access: Access, kernel: Kernel
) -> list[MemberPanel]:
    """Return panels for the console's page of ``member`` (its API representation), as seen by
    ``access`` (check ``access.can(scope)`` before showing anything). Called for plugins enabled in
    the workspace, each time the page is shown; the panel's template is the plugin's own. ``kernel``
    is the process's kernel, for reaching services.
    """


@hookspec
def scrm_dashboard_alerts(workspace: WorkspaceRef, kernel: Kernel) -> list[str]:
    """Return alerts to show as banners on top of the console's dashboard of ``workspace`` (English
    messages the plugin's catalog translates; empty when all is well): a broken hash chain, a job
    that keeps failing. Called for plugins enabled in the workspace, each time the dashboard is shown.
    """


# ---------------------------------------------------------------------------------------------
# Lifecycle
# ---------------------------------------------------------------------------------------------


@hookspec
def scrm_startup(kernel: Kernel) -> None:
    """Called once when an app starts, after the database is reachable."""


@hookspec
def scrm_shutdown(kernel: Kernel) -> None:
    """Called once when an app stops, before the database pool closes."""


@hookspec
def scrm_workspace_enabled(workspace: WorkspaceRef, settings: dict[str, Any], kernel: Kernel) -> None:
    """Called after this plugin was switched on for ``workspace``, with its settings there.

    Only the plugin being enabled is called. Switching on twice calls it twice: be idempotent.
    """


@hookspec
def scrm_demo(workspace: WorkspaceRef, member_ids: list[int], kernel: Kernel) -> None:
    """Seed example data for ``scrm demo`` in its workspace, where the demo has just enabled this
    plugin; ``member_ids`` are the demo's members. ``scrm demo`` runs again on every start: seed
    once (check for your own rows first), never duplicate.
    """


@hookspec
def scrm_workspace_deleted(workspace: WorkspaceRef, kernel: Kernel) -> None:
    """Called after ``workspace`` and the core's rows in it were deleted, for every installed plugin
    (enabled there or not): delete your own rows of that workspace. Its id may be reused later on
    SQLite, so rows left behind would surface in another workspace.
    """


# ---------------------------------------------------------------------------------------------
# Domain: after a change to the core's facts was committed. Called for plugins enabled in the
# workspace only.
# ---------------------------------------------------------------------------------------------


@hookspec
def scrm_member_created(workspace: WorkspaceRef, member: dict[str, Any], kernel: Kernel) -> None:
    """A member was created (by API, import or a plugin). ``member`` is its API representation."""


@hookspec
def scrm_member_updated(workspace: WorkspaceRef, member: dict[str, Any], changed: list[str], kernel: Kernel) -> None:
    """A member's fields changed; ``changed`` names the fields that did."""


@hookspec
def scrm_member_erased(workspace: WorkspaceRef, member_id: int, kernel: Kernel) -> None:
    """A member's personal data was erased; a plugin erases what it holds about them."""


@hookspec
def scrm_consent_changed(
    workspace: WorkspaceRef, member_id: int, purpose: str, consent: dict[str, Any], kernel: Kernel
) -> None:
    """A consent record was appended for ``member_id`` and ``purpose`` (``consent`` is its API
    representation: ``status`` is ``granted`` or ``withdrawn``, ``previous_status`` what it was before,
    or null)."""


@hookspec
def scrm_tags_changed(
    workspace: WorkspaceRef, member_id: int, added: list[str], removed: list[str], kernel: Kernel
) -> None:
    """Tags were added to or removed from a member (only actual changes are reported)."""


# ---------------------------------------------------------------------------------------------
# Data-subject requests (PIPL / GDPR): called for every installed plugin, enabled in the workspace
# or not, since a plugin switched off may still hold data about the member.
# ---------------------------------------------------------------------------------------------


@hookspec
def scrm_export_member(workspace: WorkspaceRef, member_id: int, kernel: Kernel) -> dict[str, Any] | None:
    """Return everything the plugin holds about ``member_id`` (JSON-serialisable), or None when it
    holds nothing. ``GET /api/v1/members/{id}/export`` lists it under the plugin's name, next to the
    core's profile, tags, consent records and events.
    """


@hookspec
def scrm_erase_member(workspace: WorkspaceRef, member_id: int, kernel: Kernel) -> None:
    """Erase (delete or anonymise) what the plugin holds about ``member_id``.

    Runs inside the erasure's transaction, before it commits: write through ``kernel.db`` or
    piccolo and your changes commit with the core's, and raising rolls the whole erasure back (the
    request fails and can be retried). Keep what the law lets you keep for accounting (a ledger's
    amounts, say) but remove what identifies the person. ``scrm_member_erased`` follows after the
    commit, for enabled plugins only.
    """


# ---------------------------------------------------------------------------------------------
# Delivery from the outbox: after commit, at least once, possibly out of order.
# ---------------------------------------------------------------------------------------------


@hookspec
def scrm_event_recorded(workspace: WorkspaceRef, event: EventOut, kernel: Kernel) -> None:
    """An event was stored (posted through the API, recorded by a plugin, or a core change such as
    ``member.created``). ``event`` is a :class:`scrm.EventOut` (typed: ``event.occurred_at`` is an aware
    ``datetime``, ``event.properties`` a dict); ``event.id`` is unique and stable. Treat it as read-only:
    every listening plugin receives the same object. ``event.member_id`` is None for a *workspace
    event* (a fact about the workspace, such as the audit plugin's ``audit.chain_broken`` alert,
    recorded by the server only): a handler acting on members skips it.

    Called from the durable outbox, by a worker, after the event was committed, for plugins enabled in
    the workspace at delivery time. One delivery (the events of one or more writes of the workspace,
    about 1,000 at most) runs in one database transaction with the deletion of their outbox rows: what handlers write through ``kernel.db`` or
    piccolo commits with it, and raising rolls back every handler's writes for the batch, which is
    retried later with backoff. Effects outside the database are **at least once** (a worker dying
    after them, a lease running out): make them idempotent with ``event.id``.
    """


@hookspec
def scrm_event_batch_recorded(workspace: WorkspaceRef, events: list[EventOut], kernel: Kernel) -> None:
    """The same deliveries as :func:`scrm_event_recorded`, a batch at a time (the events of one
    delivery, oldest id first), in the same transaction: implement this one to handle many events with one
    query. Called before ``scrm_event_recorded``."""


# ---------------------------------------------------------------------------------------------
# Decisions
# ---------------------------------------------------------------------------------------------


@hookspec
def scrm_can_contact(workspace: WorkspaceRef, member_id: int, purpose: str, kernel: Kernel) -> str | None:
    """Veto contacting a member for ``purpose`` although they consented: return a reason (such as
    ``"quiet hours"``), or None to allow. Asked by ``kernel.consents.can_contact`` only when the member
    holds a current grant; any veto makes the answer no.
    """


@hookspec
def scrm_member_segment(workspace: WorkspaceRef, segment: int, kernel: Kernel) -> MemberCondition | None:
    """The members of saved segment ``segment`` as a :class:`scrm.MemberCondition` (SQL over the member
    row ``m``), or None when this plugin holds no such segment in ``workspace``. Asked for
    ``GET /api/v1/members?segment=…`` (and the export), for plugins enabled in the workspace; the
    first answer wins, and no answer is a 422 naming ``segment``.
    """


@hookspec
def scrm_moderate(
    workspace: WorkspaceRef, text: str | None, media: Media | None, kernel: Kernel
) -> list[Finding] | None:
    """Findings on a piece of member content, asked through ``kernel.moderation.check`` before the
    content is shown: exactly one of ``text`` (what a member typed) and ``media`` (a
    :class:`scrm.Media`: an uploaded file's bytes and identified type) is given. Return a list of
    :class:`scrm.Finding` (category, severity, the character span in ``text``, the matched term), an
    empty list or None when nothing is found. Called for plugins enabled in the workspace; an
    exception becomes a ``moderation.failed`` finding, so content is held rather than waved through.
    """
