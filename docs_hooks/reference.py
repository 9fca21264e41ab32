"""MkDocs hook: the two reference pages generated at build time from the code, so they cannot drift —
``reference/hooks.md`` from the hook specs in ``scrm/hookspecs.py`` and ``reference/openapi.md`` from the
live OpenAPI document (the core and every installed plugin). ``mkdocs.yml`` names this file under
``hooks:``; ``tests/test_docs_site.py`` builds the site with ``--strict``."""

from __future__ import annotations

import inspect
import json
import re
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

METHODS = ("get", "put", "post", "patch", "delete")
#: plugins installed in the development workspace that are not part of scrm (the suite's test plugin)
NOT_DOCUMENTED = frozenset({"testplugin"})


def rst_to_markdown(text: str) -> str:
    """The docstrings' reStructuredText roles and literals as Markdown code."""
    text = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def signature_lines(name: str, signature: inspect.Signature) -> list[str]:
    """``def name(...) -> ...``, one parameter a line when it would not fit on one."""
    text = f"def {name}{signature}".replace("'", "")
    if len(text) <= 88:
        return [text]
    returns = "" if signature.return_annotation is inspect.Signature.empty else f" -> {signature.return_annotation}"
    params = [f"    {str(param).replace(chr(39), '')}," for param in signature.parameters.values()]
    return [f"def {name}(", *params, f"){returns.replace(chr(39), '')}"]


def hooks_page() -> str:
    from scrm import hookspecs

    lines = [
        "# Hook reference (from the specs)",
        "",
        "Generated from `scrm/hookspecs.py` when the site is built: each hook's signature and the",
        "spec's own text. [Hooks, with examples](../plugins/hooks.md) explains when each runs, with examples.",
        "",
    ]
    for name, spec in sorted(vars(hookspecs).items()):
        if not (name.startswith("scrm_") and callable(spec)):
            continue
        options: dict[str, Any] = getattr(spec, "scrm_spec", None) or {}
        lines += [f"## {name}", "", "```python", *signature_lines(name, inspect.signature(spec)), "```", ""]
        if options.get("firstresult"):
            lines += ["*firstresult*: the first answer that is not `None` wins; the other plugins are not asked.", ""]
        lines += [inspect.cleandoc(rst_to_markdown(spec.__doc__ or "")), ""]
        lines += [f"More: [{name} in Hooks, with examples](../plugins/hooks.md#{name}).", ""]
    return "\n".join(lines)


def live_document() -> dict[str, Any]:
    import tempfile

    from scrm import create_app
    from scrm.kernel import Kernel
    from scrm.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(
            {"SCRM_DATA_DIR": tmp, "SCRM_DATABASE_URL": f"sqlite://{tmp}/d.sqlite3", "SCRM_SECRET_KEY": "d" * 48}
        )
        document: dict[str, Any] = create_app(kernel=Kernel(settings), configure_logs=False).openapi_schema.to_schema()
    return document


def schema_text(schema: dict[str, Any] | None) -> str:
    if not schema:
        return ""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return " or ".join(schema_text(s) for s in schema[key])
    if "allOf" in schema:
        return " and ".join(schema_text(s) for s in schema["allOf"])
    if schema.get("type") == "array":
        return f"array of {schema_text(schema.get('items'))}"
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    return str(schema.get("type", "any")) + (f" ({schema['format']})" if "format" in schema else "")


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def openapi_page(document: dict[str, Any]) -> str:
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item and item[method].get("tags", [""])[0] not in NOT_DOCUMENTED:
                operation = item[method]
                by_tag.setdefault(operation.get("tags", ["other"])[0], []).append((method, path, operation))
    lines = [
        "# API reference",
        "",
        "Generated from the OpenAPI document of the core with every first-party plugin when the site is",
        "built; a running server serves its own at `/schema/openapi.json` and `/schema/swagger`. Every",
        "operation needs `Authorization: Bearer <API key>` with the scope the [API overview](../api.md)",
        "lists; errors are problem documents ([Errors](../user-guide.md#errors)). In the Python SDK an",
        "operation is `client.<tag>.<method>` ([Python SDK](../sdk.md)).",
        "",
    ]
    for tag in sorted(by_tag):
        lines += [f"## {tag}", ""]
        for method, path, operation in sorted(by_tag[tag], key=lambda o: (o[1], METHODS.index(o[0]))):
            lines += [f"### {operation.get('summary', operation['operationId'])} {{ #{operation['operationId']} }}", ""]
            lines += [f"`{method.upper()} {path}` — operation id `{operation['operationId']}`", ""]
            lines += [cell(operation.get("description", "")), ""]
            params = [p for p in operation.get("parameters", []) if p.get("in") in ("path", "query")]
            if params:
                lines += ["| parameter | in | type | required | meaning |", "| --- | --- | --- | --- | --- |"]
                for p in params:
                    lines.append(
                        f"| `{p['name']}` | {p['in']} | {cell(schema_text(p.get('schema')))} | "
                        f"{'yes' if p.get('required') else 'no'} | {cell(p.get('description', ''))} |"
                    )
                lines.append("")
            body = (operation.get("requestBody") or {}).get("content", {}).get("application/json")
            if body:
                lines += [f"Body: {cell(schema_text(body.get('schema')))}", ""]
                examples = body.get("examples") or body.get("schema", {}).get("examples") or []
                for example in examples[:1]:
                    value = example.get("value", example) if isinstance(example, dict) else example
                    lines += ["```json", json.dumps(value, indent=2, ensure_ascii=False), "```", ""]
            answers = [
                f"`{status}` {cell(schema_text(next(iter(r.get('content', {}).values()), {}).get('schema')) or '')}".rstrip()
                for status, r in sorted(operation.get("responses", {}).items())
                if status.startswith("2")
            ]
            lines += [f"Answers: {', '.join(answers)}; errors as problem documents.", ""]
    return "\n".join(lines)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    files.append(File.generated(config, "reference/hooks.md", content=hooks_page()))
    files.append(File.generated(config, "reference/openapi.md", content=openapi_page(live_document())))
    return files


#: a link out of the documentation folder into the repository (examples, benchmarks), as in GitHub's view
OUTSIDE = re.compile(r"\[([^\]]+)\]\((?:\.\./)+((?:examples|bench|sdk)/[^)\s]+)\)")


def on_page_markdown(markdown: str, page: Any, config: MkDocsConfig, files: Files) -> str:
    """Links from the docs to files of the repository outside ``docs/`` name the file instead (the
    site holds only the documentation; on GitHub the links work as written)."""
    return OUTSIDE.sub(lambda m: f"{m.group(1)} (`{m.group(2)}` in the repository)", markdown)
