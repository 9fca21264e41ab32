"""The core's words the console shows: role names and what each role may do, member statuses, the
titles of the core's problems, the rules of fields the core alone checks.

The core has no translations (its API speaks English), so the console declares these messages here,
marked with :func:`~scrm_web.i18n.N_` for the extractor, and translates the core's value where it
shows it (``_(member.role)``, ``_(member.status)``, the error page's title). They repeat the core's
English; ``tests/console/test_translations.py`` checks that they still equal it.
"""

from __future__ import annotations

from scrm_web.i18n import N_

#: the roles of :data:`scrm.ROLES` and ``admin`` (an agency admin's :attr:`scrm.Access.role`)
ROLE_NAMES = (
    # TRANSLATORS: a role in a workspace
    N_("owner"),
    # TRANSLATORS: a role in a workspace: does the day-to-day work
    N_("operator"),
    # TRANSLATORS: a role in a workspace
    N_("analyst"),
    # TRANSLATORS: a role in a workspace
    N_("viewer"),
    # TRANSLATORS: a role in a workspace: scores contest entries
    N_("judge"),
    # TRANSLATORS: an agency administrator (every workspace)
    N_("admin"),
)

#: the same text as the core's descriptions of the roles, in the console's catalog
ROLE_DESCRIPTIONS = {
    "admin": N_("every workspace, including creating them (agency level)"),
    "owner": N_("everything in the workspace: team, API keys, plugins"),
    "operator": N_("day-to-day work: members, tags, consent, events, plugin features"),
    "analyst": N_("reads everything and sees the reports; changes nothing"),
    "viewer": N_("reads members, tags, consent and events; changes nothing"),
    "judge": N_("scores what a plugin puts up for judging (contest entries); sees nothing else"),
}

#: a member's ``status``: the core's ``MemberStatus``, and ``erased`` after erasure
MEMBER_STATUSES = (
    # TRANSLATORS: a member's status
    N_("active"),
    # TRANSLATORS: a member's status
    N_("blocked"),
    # TRANSLATORS: a member's status
    N_("erased"),
)

#: the ``title`` of each of the core's problems: the heading of the console's error page
PROBLEM_TITLES = (
    N_("Bad request"),
    N_("The request is not valid"),
    N_("The pagination cursor is not valid"),
    N_("Authentication required"),
    N_("Not allowed"),
    N_("The credential lacks the scope this route needs"),
    N_("Name the workspace to act in"),
    N_("Not found"),
    N_("The plugin is not enabled in this workspace"),
    N_("Conflicts with existing data"),
    N_("Too many attempts; wait and retry"),
    N_("The request body is too large"),
    N_("A dependency is unavailable; retry later"),
    N_("The request body is not valid JSON"),
)

#: the ``message`` of a field error the core raises and the console shows as it is (translated)
FIELD_RULES = (
    # TRANSLATORS: the key of the member list's attribute filter (KEY=VALUE)
    N_("the key has letters, digits and _ only"),
)
