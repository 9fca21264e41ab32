"""The per-workspace report an agency hands its client: a period's headline measures beside the
period compared with, the lifecycle, the daily trend and the retention triangle — one print-ready
HTML page (``analytics/report.html``), and the same page as PDF, laid out by WeasyPrint (which
needs the Pango library: ``apt-get install libpango-1.0-0 libpangoft2-1.0-0``; without it a PDF
request is a 503 naming it, the HTML report still works). The page is rendered by the console's
template engine, in the request's language."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import scrm
from litestar import Request, Response

from scrm_analytics import measures, periods
from scrm_analytics.problems import ReportUnavailable


def N_(message: str) -> str:
    """Marks English text translated where it is shown."""
    return message


#: the headline rows: (field, label, format)
HEADLINES = (
    ("members", N_("Members"), "int"),
    ("joined", N_("Joined"), "int"),
    ("active", N_("Active members"), "int"),
    ("active_ratio", N_("Active ratio"), "pct"),
    ("orders", N_("Orders"), "int"),
    ("gmv", N_("GMV"), "num"),
    ("average_order_value", N_("Average order value"), "num"),
    ("repurchase_rate", N_("Repurchase rate"), "pct"),
    ("gmv_share", N_("Community GMV share"), "pct"),
    ("cost_per_member", N_("Cost per member"), "num"),
    ("private_domain_value", N_("Private-domain value"), "num"),
    ("k", N_("Viral coefficient K"), "num"),
    ("nps", N_("NPS"), "num"),
    ("index", N_("Composite index"), "num"),
)
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
STAGES = {"new": N_("New"), "active": N_("Active"), "silent": N_("Silent"), "churned": N_("Churned")}
#: what a measure is called where the page says it is not available
MEASURE_LABELS = {field: label for field, label, _ in HEADLINES} | {"reusable_content": N_("Reusable content")}
#: the report's layout, for the page (served as ``report.css`` beside it) and the PDF
STYLESHEET = Path(__file__).parent / "report.css"


async def context(
    kernel: scrm.Kernel, ws: scrm.WorkspaceRef, grain: str, anchor: date | None, compare: date | None
) -> dict[str, Any]:
    """What the report shows (all from the rollups, like the dashboard)."""
    summary = await measures.summary(kernel, ws, grain, anchor, compare)
    today = periods.local(periods.now(), ws.time_zone).date()
    last = min(summary.current.end, today)
    return {
        "workspace": ws,
        "summary": summary,
        "headlines": HEADLINES,
        "stages": STAGES,
        "measure_labels": MEASURE_LABELS,
        "weekdays": WEEKDAYS,
        "trend": await measures.trends(kernel, ws, max(summary.current.start, last - timedelta(days=30)), last),
        "retention": await measures.retention(kernel, ws, "month", 6),
        "heat": await measures.heatmap(kernel, ws, summary.current.start, last),
        "generated": periods.local(periods.now(), ws.time_zone).strftime("%Y-%m-%d %H:%M"),
        "pdf": False,  # the page links its stylesheet; the PDF is handed it (see :func:`html`)
    }


def html(request: Request[Any, Any, Any], found: dict[str, Any]) -> str:
    """The page as the PDF is laid out from: its stylesheet is handed to WeasyPrint, not linked."""
    engine = request.app.template_engine
    if engine is None:
        raise ReportUnavailable("The report needs the console (scrm-web) installed: it renders the page")
    return str(engine.get_template("analytics/report.html").render({**found, "pdf": True}))


def pdf(page: str) -> bytes:
    """The report page as a PDF."""
    from PIL import ImageFile

    # WeasyPrint's import sets Pillow's process-wide LOAD_TRUNCATED_IMAGES: every other user of
    # Pillow in the process (the contests plugin refusing truncated uploads) would change behaviour
    truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        from weasyprint import CSS, HTML  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:  # OSError: WeasyPrint is there, the Pango library it loads is not
        raise ReportUnavailable(
            f"PDF export needs the Pango library on the server (apt-get install libpango-1.0-0): {exc}"
        ) from exc
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated
    return bytes(HTML(string=page).write_pdf(stylesheets=[CSS(filename=str(STYLESHEET))]))


def pdf_response(request: Request[Any, Any, Any], found: dict[str, Any]) -> Response[bytes]:
    summary = found["summary"]
    name = f"{found['workspace'].slug}-{summary.period}-{summary.current.start.isoformat()}.pdf"
    return Response(
        pdf(html(request, found)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
