"""The segment definition language: a JSON tree of clauses, checked into :class:`Node` values (a 422
names the clause that is wrong, as its path: ``definition.all[2].events.within_days``) and compiled
to one SQL condition over the member row ``m`` (``scrm.MemberCondition``), so a count, a member list
and an export are each one statement.

Clauses (each an object with one key)::

    {"all": [clause, …]}   {"any": [clause, …]}   {"not": clause}
    {"tag": "vip"}                                   has the tag
    {"attribute": {"key": "city", "equals": "Shanghai"}}   or {"key": "city", "exists": true}
    {"consent": "marketing.email"}                   holds a current grant for the purpose
    {"joined": {"within_days": 7}}                   joined in the last 7 local days (or "before_days")
    {"active": {"within_days": 30}}                  engaged in the last 30 days; {"before_days": 30}: not
    {"events": {"type": "order.paid", "within_days": 30, "min": 2, "max": 5}}
    {"stage": ["new", "active"]}                     lifecycle stage (a name or a list)
    {"rfm": {"score": "r", "min": 4, "max": 5}}      RFM score r / f / m (0 = no order, else 1–5)
    {"cluster": 2}                                   behavioural cluster (see clusters)
    {"points": {"min": 100, "max": 500}}             points balance (the points plugin, when enabled)

Days are whole local days in the workspace's time zone, today included."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import scrm

from scrm_segments import clock, lifecycle
from scrm_segments.config import SegmentsSettings

MAX_DEPTH = 8
MAX_CLAUSES = 100
MAX_DAYS = 3650
TYPE_NAME = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
ATTRIBUTE_KEY = re.compile(r"^[A-Za-z0-9_]{1,64}$")
KINDS = (
    "all",
    "any",
    "not",
    "tag",
    "attribute",
    "consent",
    "joined",
    "active",
    "events",
    "stage",
    "rfm",
    "cluster",
    "points",
)


#: clauses that compile to a predicate on the row itself, per row (the others read another table)
PLAIN_ON_PROFILE = frozenset({"joined", "active", "stage", "rfm", "cluster"})
PLAIN_ON_MEMBER = frozenset({"attribute"})


class Points(Protocol):
    """What segments uses of the points plugin (``kernel.service("points", ws)``), when enabled."""

    def balance_condition(self, ws: scrm.WorkspaceRef, low: int, high: int | None) -> scrm.MemberCondition: ...


@dataclass(frozen=True)
class Node:
    kind: str
    value: Any  # children for all/any/not, else the clause's checked fields


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.clauses = 0

    def add(self, path: str, message: str) -> None:
        if len(self.items) < 50:
            self.items.append(scrm.field_error(path, message))


def parse(definition: Any, field: str = "definition") -> Node:
    """Check a definition; a 422 names every wrong clause by its path."""
    errors = _Errors()
    node = _clause(definition, field, errors, 0)
    if errors.clauses > MAX_CLAUSES:
        errors.add(field, f"at most {MAX_CLAUSES} clauses")
    if errors.items or node is None:
        first = errors.items[0] if errors.items else scrm.field_error(field, "not a clause")
        raise scrm.ValidationFailed(f"{first['field']}: {first['message']}", errors=errors.items or [first])
    return node


def _int(value: Any, path: str, errors: _Errors, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors.add(path, f"a whole number from {low} to {high}")
        return None
    return value


def _text(
    value: Any, path: str, errors: _Errors, pattern: re.Pattern[str] | None = None, most: int = 100
) -> str | None:
    if not isinstance(value, str) or not 1 <= len(value) <= most or (pattern and not pattern.match(value)):
        errors.add(path, "a name" if pattern is None else f"a name matching {pattern.pattern}")
        return None
    return value


def _fields(value: Any, path: str, errors: _Errors, allowed: set[str]) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        errors.add(path, "an object")
        return None
    unknown = sorted(set(value) - allowed)
    for name in unknown:
        errors.add(f"{path}.{name}", f"not a field here (one of {', '.join(sorted(allowed))})")
    return value if not unknown else None


def _window(value: Any, path: str, errors: _Errors) -> dict[str, int] | None:
    fields = _fields(value, path, errors, {"within_days", "before_days"})
    if fields is None:
        return None
    if len(fields) != 1:
        errors.add(path, "give within_days or before_days")
        return None
    name, days = next(iter(fields.items()))
    checked = _int(days, f"{path}.{name}", errors, 1, MAX_DAYS)
    return None if checked is None else {name: checked}


def _clause(value: Any, path: str, errors: _Errors, depth: int) -> Node | None:
    errors.clauses += 1
    if depth > MAX_DEPTH:
        errors.add(path, f"nested deeper than {MAX_DEPTH}")
        return None
    if not isinstance(value, dict) or len(value) != 1:
        errors.add(path, f"an object with one of: {', '.join(KINDS)}")
        return None
    kind, body = next(iter(value.items()))
    at = f"{path}.{kind}"
    if kind in ("all", "any"):
        if not isinstance(body, list) or not body:
            errors.add(at, "a non-empty list of clauses")
            return None
        children = [_clause(child, f"{at}[{i}]", errors, depth + 1) for i, child in enumerate(body)]
        return Node(kind, children) if all(children) else None
    if kind == "not":
        child = _clause(body, at, errors, depth + 1)
        return Node(kind, [child]) if child else None
    if kind == "tag":
        name = _text(body, at, errors)
        return Node(kind, name) if name else None
    if kind == "consent":
        purpose = _text(body, at, errors, TYPE_NAME, 64)
        return Node(kind, purpose) if purpose else None
    if kind == "attribute":
        return _attribute(body, at, errors)
    if kind in ("joined", "active"):
        window = _window(body, at, errors)
        return Node(kind, window) if window else None
    if kind == "events":
        return _events(body, at, errors)
    if kind == "stage":
        stages = [body] if isinstance(body, str) else body
        if not isinstance(stages, list) or not stages or any(s not in lifecycle.STAGES for s in stages):
            errors.add(at, f"a stage or a list of stages: {', '.join(lifecycle.STAGES)}")
            return None
        return Node(kind, sorted(set(stages)))
    if kind == "rfm":
        return _rfm(body, at, errors)
    if kind == "cluster":
        cluster = _int(body, at, errors, 0, 9)
        return Node(kind, cluster) if cluster is not None else None
    if kind == "points":
        return _points(body, at, errors)
    errors.add(at, f"not a clause (one of: {', '.join(KINDS)})")
    return None


def _attribute(body: Any, at: str, errors: _Errors) -> Node | None:
    fields = _fields(body, at, errors, {"key", "equals", "exists"})
    if fields is None:
        return None
    key = _text(fields.get("key"), f"{at}.key", errors, ATTRIBUTE_KEY, 64)
    if ("equals" in fields) == ("exists" in fields):
        errors.add(at, "give equals or exists")
        return None
    if "exists" in fields and not isinstance(fields["exists"], bool):
        errors.add(f"{at}.exists", "true or false")
        return None
    if "equals" in fields and not isinstance(fields["equals"], str | int | float | bool):
        errors.add(f"{at}.equals", "a string, number or boolean")
        return None
    return Node("attribute", dict(fields, key=key)) if key else None


def _events(body: Any, at: str, errors: _Errors) -> Node | None:
    fields = _fields(body, at, errors, {"type", "within_days", "min", "max"})
    if fields is None:
        return None
    kind = _text(fields.get("type"), f"{at}.type", errors, TYPE_NAME)
    days = _int(fields.get("within_days"), f"{at}.within_days", errors, 1, MAX_DAYS)
    low = _int(fields.get("min", 1), f"{at}.min", errors, 0, 10**9)
    high = _int(fields["max"], f"{at}.max", errors, 0, 10**9) if "max" in fields else None
    if low is not None and high is not None and high < low:
        errors.add(f"{at}.max", "at least min")
        return None
    if kind is None or days is None or low is None or ("max" in fields and high is None):
        return None
    return Node("events", {"type": kind, "within_days": days, "min": low, "max": high})


def _rfm(body: Any, at: str, errors: _Errors) -> Node | None:
    fields = _fields(body, at, errors, {"score", "min", "max"})
    if fields is None:
        return None
    if fields.get("score") not in ("r", "f", "m"):
        errors.add(f"{at}.score", "r, f or m")
        return None
    low = _int(fields.get("min", 0), f"{at}.min", errors, 0, 5)
    high = _int(fields.get("max", 5), f"{at}.max", errors, 0, 5)
    if low is None or high is None:
        return None
    if high < low:
        errors.add(f"{at}.max", "at least min")
        return None
    return Node("rfm", {"score": fields["score"], "min": low, "max": high})


def _points(body: Any, at: str, errors: _Errors) -> Node | None:
    fields = _fields(body, at, errors, {"min", "max"})
    if fields is None:
        return None
    if not fields:
        errors.add(at, "give min, max or both")
        return None
    low = _int(fields.get("min", 0), f"{at}.min", errors, 0, 10**12)
    high = _int(fields["max"], f"{at}.max", errors, 0, 10**12) if "max" in fields else None
    if low is None or ("max" in fields and high is None):
        return None
    if high is not None and high < low:
        errors.add(f"{at}.max", "at least min")
        return None
    return Node("points", {"min": low, "max": high, "path": at})


# --- compiling ------------------------------------------------------------------------------------


class Compiler:
    """Turns a checked definition into SQL for one workspace at one instant, over one of two rows:

    * ``"m"``, the member row (``scrm_member m``): the condition the core's member list and export
      AND into their WHERE (``scrm_member_segment``); the profile's clauses are semi-joins;
    * ``"p"``, the member's profile row (``segments_profile p``): what a count reads. Every member
      has a profile from the delivery of their ``member.created`` on (an erased member's is
      deleted), so the count is one pass over the profiles (or their indexes) with the profile's
      clauses as plain predicates on ``p`` — no scan of ``scrm_member``, no per-row subplan.

    Each predicate is two-valued (a NULL column is tested with ``IS NOT NULL AND …``), so ``not``
    means "every other member" on both rows. A clause on another table is a correlated ``EXISTS``
    over members (a page of the member list stops at its limit, and PostgreSQL never falls back to
    re-reading a subquery per row, as it does for ``NOT (id IN (…))`` once the subquery outgrows
    ``work_mem`` — quadratic at a million members) and a hashed ``IN`` over profiles (a count reads
    every profile anyway: one hash per statement; ``store.count`` gives it the memory)."""

    def __init__(
        self, kernel: scrm.Kernel, ws: scrm.WorkspaceRef, settings: SegmentsSettings, at: datetime, row: str = "m"
    ) -> None:
        self.k = kernel
        self.ws = ws
        self.s = settings
        self.at = at
        self.row = row

    def condition(self, node: Node) -> scrm.MemberCondition:
        sql, args = self._node(node)
        return scrm.MemberCondition(sql, tuple(args))

    def _boundary(self, days: int) -> datetime:
        return clock.since_boundary(days, self.at, self.ws.time_zone)

    def _profile(self, where: str, *args: Any) -> tuple[str, list[Any]]:
        """A predicate on the profile row ``p``: inline over profiles, a semi-join over members."""
        if self.row == "p":
            return f"({where})", list(args)
        return self._among(
            "p.member_id", f"segments_profile p WHERE p.workspace = {{}} AND {where}", [self.ws.id, *args]
        )

    def _among(self, column: str, source: str, args: list[Any]) -> tuple[str, list[Any]]:
        """The member is one of ``column`` in ``source`` (``table … WHERE …``)."""
        if self.row == "p":
            return f"p.member_id IN (SELECT {column} FROM {source})", args
        return f"EXISTS (SELECT 1 FROM {source} AND {column} = m.id)", args

    def _member(self, sql: str, args: list[Any]) -> tuple[str, list[Any]]:
        """A condition on the member row ``m``: as it is over members, a semi-join over profiles."""
        if self.row == "m":
            return sql, args
        return f"p.member_id IN (SELECT m.id FROM scrm_member m WHERE m.workspace = {{}} AND {sql})", [
            self.ws.id,
            *args,
        ]

    def _plain(self, node: Node) -> bool:
        """Whether a clause is a predicate on the row itself (no subquery) on this row."""
        if node.kind in ("all", "any", "not"):
            return all(self._plain(child) for child in node.value)
        return node.kind in (PLAIN_ON_PROFILE if self.row == "p" else PLAIN_ON_MEMBER)

    def _node(self, node: Node) -> tuple[str, list[Any]]:
        kind, v = node.kind, node.value
        if kind in ("all", "any"):
            # the row's own predicates first: PostgreSQL evaluates AND/OR arguments in order and
            # stops at the first that decides, so a subquery's probe (a hash lookup per row) runs
            # only for the rows they left undecided — the same answer, each test being two-valued
            parts = [self._node(child) for child in sorted(v, key=lambda child: not self._plain(child))]
            joiner = " AND " if kind == "all" else " OR "
            return "(" + joiner.join(sql for sql, _ in parts) + ")", [a for _, args in parts for a in args]
        if kind == "not":
            sql, args = self._node(v[0])
            return f"NOT ({sql})", args
        if kind == "tag":  # a join, not the tag's id as a scalar subquery: that keeps a count from going parallel
            return self._among(
                "mt.member",
                "scrm_member_tag mt JOIN scrm_tag t ON t.id = mt.tag WHERE t.workspace = {} AND t.name = {}",
                [self.ws.id, v],
            )
        if kind == "consent":
            return self._among(
                "c.member",
                "scrm_consent c WHERE c.workspace = {} AND c.purpose = {} AND c.status = 'granted' AND c.seq = "
                "(SELECT MAX(c2.seq) FROM scrm_consent c2 WHERE c2.workspace = c.workspace AND c2.member = c.member "
                "AND c2.purpose = c.purpose)",
                [self.ws.id, v],
            )
        if kind == "attribute":
            return self._member(*self._attribute(v))
        if kind == "joined":
            return self._window("p.joined_at", v)
        if kind == "active":
            return self._window("p.seen_at", v)
        if kind == "events":
            return self._events(v)
        if kind == "stage":
            condition, arg = self.k.sql.any_of("p.stage", v, "text")
            return self._profile(condition, arg)
        if kind == "rfm":
            return self._rfm(v)
        if kind == "cluster":
            return self._profile("p.cluster IS NOT NULL AND p.cluster = {}", v)
        if kind == "points":
            return self._member(*self._points(v))
        raise AssertionError(kind)

    def _points(self, v: dict[str, Any]) -> tuple[str, list[Any]]:
        """The points plugin's own condition on the balance (a 422 naming the clause without it)."""
        points: Points | None = self.k.service("points", self.ws)
        if points is None:
            message = "a points clause needs the points plugin, which is not enabled in this workspace"
            raise scrm.ValidationFailed(f"{v['path']}: {message}", errors=[scrm.field_error(v["path"], message)])
        where = points.balance_condition(self.ws, v["min"], v["max"])
        return f"({where.sql})", list(where.args)

    def _attribute(self, v: dict[str, Any]) -> tuple[str, list[Any]]:
        key = v["key"]
        if "exists" in v:
            if self.k.sql.postgres:
                sql = "(m.attributes ? {})"
                args: list[Any] = [key]
            else:
                sql, args = "(json_type(m.attributes, {}) IS NOT NULL)", [f'$."{key}"']
            return (sql if v["exists"] else f"NOT {sql}"), args
        value = v["equals"]
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        sql, args = self.k.db.dialect.json_text_equals("m.attributes", key, text)
        return f"({sql})", list(args)

    def _window(self, column: str, v: dict[str, int]) -> tuple[str, list[Any]]:
        """Within the last N days; ``before_days``: not within them (never counts as before)."""
        days = v.get("within_days") or v["before_days"]
        sql, args = self._profile(f"{column} IS NOT NULL AND {column} >= {{}}", self._boundary(days))
        return (sql, args) if "within_days" in v else (f"NOT ({sql})", args)

    def _events(self, v: dict[str, Any]) -> tuple[str, list[Any]]:
        """From ``min`` to ``max`` events of a type in the window: over members the member's own
        counters summed (an index range of ``(workspace, member_id, type, day)``), over profiles
        the members whose sum is in range, hashed once."""
        first_day = clock.local_day(self.at, self.ws.time_zone) - timedelta(days=v["within_days"] - 1)
        args = [self.ws.id, v["type"], first_day]
        low, high = v["min"], v["max"]
        if low == 0 and high is None:  # everyone
            return "(1 = 1)", []
        if self.row == "m":
            total = (
                "(SELECT COALESCE(SUM(d.n), 0) FROM segments_daily d WHERE d.workspace = {} AND d.type = {} "
                "AND d.day >= {} AND d.member_id = m.id)"
            )
            parts: list[str] = []
            values: list[Any] = []
            if low > 0:
                parts.append(f"{total} >= {{}}")
                values += [*args, low]
            if high is not None:
                parts.append(f"{total} <= {{}}")
                values += [*args, high]
            return "(" + " AND ".join(parts) + ")", values
        counted = (
            "SELECT member_id FROM segments_daily WHERE workspace = {} AND type = {} AND day >= {} GROUP BY member_id"
        )
        if low >= 1:
            having = " HAVING SUM(n) >= {}" + (" AND SUM(n) <= {}" if high is not None else "")
            return f"p.member_id IN ({counted}{having})", [*args, low, *([high] if high is not None else [])]
        return f"NOT (p.member_id IN ({counted} HAVING SUM(n) > {{}}))", [*args, high]

    def _rfm(self, v: dict[str, Any]) -> tuple[str, list[Any]]:
        """A score's range as ranges of the profile's own columns (what its indexes can answer),
        equivalent to ``score(which) BETWEEN min AND max``."""
        which, low, high = v["score"], v["min"], v["max"]
        s = self.s
        if which == "r":  # score 5 - i from the i-th recency boundary on
            column = "p.last_order_at"
            bounds: list[Any] = [self._boundary(int(d) + 1) for d in s.recency_days]
            at_least = {k: bounds[5 - k] for k in range(2, 6)}
            below = {k: bounds[4 - k] for k in range(1, 5)}
        else:
            column = "p.orders" if which == "f" else "p.monetary"
            limits = s.frequency if which == "f" else s.monetary
            at_least = {k: limits[k - 2] for k in range(2, 6)}
            below = {k: limits[k - 1] for k in range(1, 5)}
        parts: list[str] = []
        args: list[Any] = []
        if low >= 1:
            parts.append("p.orders >= 1")
        if low >= 2:
            parts.append(f"{column} >= {{}}")
            args.append(at_least[low])
        if high == 0:
            parts.append("p.orders = 0")
        elif high <= 4:
            parts.append(f"(p.orders = 0 OR {column} IS NULL OR {column} < {{}})")
            args.append(below[high])
        return self._profile(" AND ".join(parts) or "1 = 1", *args)

    def score(self, which: str) -> tuple[str, list[Any]]:
        """The SQL of one RFM score of a profile row (0 without an order, else 1–5), and its args."""
        s = self.s
        if which == "r":  # more recent is better: at most recency_days[0] days ago scores 5
            bounds = [self._boundary(int(d) + 1) for d in s.recency_days]
            whens = " ".join(f"WHEN last_order_at >= {{}} THEN {5 - i}" for i in range(4))
            return f"(CASE WHEN orders = 0 THEN 0 {whens} ELSE 1 END)", bounds
        column, limits = ("orders", s.frequency) if which == "f" else ("monetary", s.monetary)
        whens = " ".join(f"WHEN {column} >= {{}} THEN {5 - i}" for i in range(4))
        return f"(CASE WHEN orders = 0 THEN 0 {whens} ELSE 1 END)", list(reversed(limits))
