"""Console pages for members in bulk: import a CSV or NDJSON file, and export the list as filtered.

The import goes through the importer the API streams (``POST /api/v1/members/import``), so a file is
read exactly as the API reads it: rows upserted by ``external_id`` in batches, a batch holding a bad
row written not at all, and each bad row reported by line and field. The page shows that report in
full — what was written, which batches were not and why — so an operator can fix the file and send it
again (rows are matched by ``external_id``: sending a file twice does not duplicate anyone). With
htmx the upload shows a progress bar (``console.js`` follows the upload's progress events); without
JavaScript the form posts and the page comes back with the report.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Stream, Template
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY
from scrm import Access, AccessDep, KernelDep, Problem, WorkspaceDep, export_members, import_members

from scrm_web import i18n
from scrm_web.auth import console_of
from scrm_web.errors import is_htmx
from scrm_web.forms import decode, field_errors
from scrm_web.pages.members import MemberSearch

#: how the upload is read: in chunks, as the API streams a request body
CHUNK = 64 * 1024
#: a file's format by its name
FORMATS = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "ndjson"}


def format_of(upload: UploadFile) -> str | None:
    """The file's format from its name, else from its content type."""
    name = (upload.filename or "").lower()
    for suffix, fmt in FORMATS.items():
        if name.endswith(suffix):
            return fmt
    content_type = (upload.content_type or "").lower()
    if "csv" in content_type:
        return "csv"
    if "ndjson" in content_type or "json" in content_type:
        return "ndjson"
    return None


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK):
        yield chunk


def _page(request: Request[Any, Any, Any], context: dict[str, Any], status: int = 200) -> Template:
    """The import page, or for htmx the report alone (what the upload form swaps in)."""
    name = "console/_member_import_report.html" if is_htmx(request) else "console/member_import.html"
    base = f"{console_of(request).base}/members"
    return Template(name, context={"url": f"{base}/import", "members_url": base} | context, status_code=status)


@get("/members/import", opt={"scope": "members:write"})
async def import_page(request: Request[Any, Any, Any]) -> Template:
    return _page(request, {"result": None, "error": ""})


@post("/members/import", opt={"scope": "members:write"}, request_max_body_size=100 * 1024 * 1024)
async def import_file(
    request: Request[Any, Any, Any],
    kernel: KernelDep,
    access: AccessDep,
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Template:
    """Import the uploaded file; the report lists every bad row by line and field."""
    upload = data.get("file")
    try:
        return await _import(request, kernel, access, upload)
    finally:
        for value in data.values():  # the spooled files go now, not whenever they are collected
            if isinstance(value, UploadFile):
                await value.close()


async def _import(request: Request[Any, Any, Any], kernel: KernelDep, access: Access, upload: Any) -> Template:
    if not isinstance(upload, UploadFile) or not upload.filename:
        error = i18n.gettext("Choose a CSV or NDJSON file to import.")
        return _page(request, {"result": None, "error": error}, HTTP_422_UNPROCESSABLE_ENTITY)
    fmt = format_of(upload)
    if fmt is None:
        error = i18n.gettext("%(name)s is neither CSV nor NDJSON (name it .csv or .ndjson).") % {
            "name": upload.filename
        }
        return _page(request, {"result": None, "error": error}, HTTP_422_UNPROCESSABLE_ENTITY)
    try:
        result = await import_members(kernel, access.workspace, fmt, _chunks(upload))
    except Problem as exc:  # a CSV header the importer does not know, a line too long…
        error = "; ".join(field_errors(exc).values())
        return _page(request, {"result": None, "error": error, "filename": upload.filename}, exc.status)
    status = HTTP_422_UNPROCESSABLE_ENTITY if result.failed_rows else 200
    return _page(request, {"result": result, "error": "", "filename": upload.filename}, status)


@get("/members/export", opt={"scope": "members:export"})
async def export_list(request: Request[Any, Any, Any], kernel: KernelDep, ws: WorkspaceDep) -> Stream:
    """The members the list's filters match (the URL's), as CSV in the API's export columns, for
    a spreadsheet or to import again elsewhere."""
    query = request.query_params
    typed = {
        name: ",".join(query.getall(name, [])) if name == "tag" else query.get(name, "")
        for name in MemberSearch.__struct_fields__
    }
    search = decode(typed, MemberSearch, lists=("tag",))  # a bad filter is the 422 page
    disposition = f'attachment; filename="{ws.slug}-members.csv"'
    return Stream(
        export_members(kernel, ws, "csv", filters=search.to_filter(ws)),
        media_type="text/csv",
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )


routes = [import_page, import_file, export_list]
