"""Parameter and field types every route and table of scrm shares — the core's and the plugins'.

Ids are 64-bit everywhere: in paths, queries and bodies (bounded by :data:`MAX_ID`, so a larger
number is a 422 naming the parameter, never a database range error) and in tables (``BigInt`` /
``BigSerial`` columns). Declaring them once here keeps every route's OpenAPI description and limits
the same, and spares each plugin from redeclaring them.

Use the body types inside msgspec structs and the parameter types in handler signatures::

    @get("/campaigns/{campaign_id:int}", opt={"scope": "lottery:read"})
    async def show(campaign_id: scrm.PathId, cursor: scrm.Cursor = None, limit: scrm.Limit = 50): ...
"""

from __future__ import annotations

from typing import Annotated

from litestar.params import PathParameter, QueryParameter
from msgspec import Meta

#: The largest id: ids are signed 64-bit integers on both engines.
MAX_ID = 2**63 - 1
#: Page sizes of every cursor-paginated listing.
DEFAULT_LIMIT = 50
MAX_LIMIT = 500

# --- in request bodies (msgspec) ---------------------------------------------------------------

#: An id in a request body.
Id = Annotated[int, Meta(gt=0, le=MAX_ID, description="A 64-bit id")]
#: A short required text: names and titles.
Name = Annotated[str, Meta(min_length=1, max_length=200)]
#: A longer free text: descriptions and notes (may be empty).
Text = Annotated[str, Meta(max_length=2000)]
#: A member's id in the brand's own systems, unique per workspace.
ExternalId = Annotated[str, Meta(min_length=1, max_length=200)]

# --- in paths and query strings (Litestar) -----------------------------------------------------

#: An id in the path (``/rewards/{reward_id:int}``).
PathId = Annotated[int, PathParameter(gt=0, le=MAX_ID, description="A 64-bit id")]
#: An optional id filter in the query string (``?member_id=…``).
QueryId = Annotated[int | None, QueryParameter(gt=0, le=MAX_ID, description="Only this id's")]
#: The page size of a listing.
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="Page size")]
#: The ``next_cursor`` of the previous page (absent for the first page).
Cursor = Annotated[str | None, QueryParameter(max_length=200, description="next_cursor of the previous page")]
#: A search text in the query string (``?q=…``).
SearchText = Annotated[str | None, QueryParameter(max_length=200, description="Search text")]
