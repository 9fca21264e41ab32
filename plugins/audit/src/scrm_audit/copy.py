"""Marketing copy review (营销话术审核) on the core's workspace word list.

The word list is the core's (``kernel.wordlist``: ``/api/v1/moderation/terms``, edited on the
console's moderation page); its terms are matched in member content by the core's ``scrm_moderate``
too. This module checks an operator's draft against it (``POST /api/v1/audit/copy-check``: each
finding with its span) and loads a starter list into it: terms banned by advertising law (China's
广告法 art. 9: absolute claims such as 最好/第一/国家级; medical claims for ordinary goods) and their
English counterparts, as categories ``ad.absolute``, ``ad.medical``, ``ad.guarantee``. The brand adds
its own terms (any category) on the same list.
"""

from __future__ import annotations

import scrm

from scrm_audit.schemas import CopyFinding, CopyReport

STARTER: dict[str, list[tuple[str, str, str]]] = {
    "zh": [
        *[
            (term, "ad.absolute", "high")
            for term in (
                "最好",
                "第一",
                "国家级",
                "最佳",
                "最高级",
                "顶级",
                "唯一",
                "首个",
                "全网最低",
                "史无前例",
                "万能",
                "100%",
            )
        ],
        *[(term, "ad.medical", "high") for term in ("治愈", "根治", "药到病除", "疗效", "无副作用", "防癌", "抗癌")],
        *[(term, "ad.guarantee", "medium") for term in ("保证收益", "稳赚不赔", "无效退款", "零风险")],
    ],
    "en": [
        *[
            (term, "ad.absolute", "high")
            for term in (
                "the best",
                "number one",
                "no.1",
                "world's first",
                "the only",
                "unbeatable",
                "lowest price ever",
            )
        ],
        *[(term, "ad.medical", "high") for term in ("cures", "heals", "no side effects", "prevents cancer", "miracle")],
        *[(term, "ad.guarantee", "medium") for term in ("guaranteed returns", "risk-free", "100% guaranteed")],
    ],
}


async def check(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, text: str) -> CopyReport:
    findings = [
        CopyFinding(
            category=f.category, severity=f.severity, start=f.start, end=f.end, term=f.term or text[f.start : f.end]
        )
        for f in await kernel.wordlist.findings(ws, text)
        if f.start is not None and f.end is not None
    ]
    findings.sort(key=lambda f: (f.start, f.end))
    return CopyReport(ok=not findings, findings=findings)


async def load_starter(kernel: scrm.Kernel, ws: scrm.WorkspaceRef, language: str) -> list[scrm.ModerationTermOut]:
    """Add the starter list of ``language`` to the workspace's word list (terms already listed take
    the starter's category and severity); safe to run twice."""
    terms = [scrm.ModerationTermIn(term=t, category=c, severity=s) for t, c, s in STARTER[language]]  # type: ignore[arg-type]
    return await kernel.wordlist.add(ws, scrm.ModerationTermsIn(terms=terms))
