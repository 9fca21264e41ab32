"""Writes ``sdk/src/scrm_sdk/_generated.py`` — the SDK's models and methods — from scrm's OpenAPI document.

    uv run python sdk/generate.py            # from the live app: the core and every installed plugin
    uv run python sdk/generate.py doc.json   # from a saved document

Run it after adding or changing an operation (a new plugin's routes get their methods this way);
``sdk/tests/test_generated.py`` fails when the committed file differs from what this writes.

What it makes: a ``msgspec.Struct`` per component schema (fields not required default to ``UNSET``, so
an unset field is left out of a request), and per tag a namespace class — ``Members`` and
``AsyncMembers`` for ``client.members`` — with a method per operation named from its operation id
(``pointsGetAccount`` → ``client.points.get_account``), path parameters positional, query parameters
keyword-only, the request body as ``body``. A list operation taking ``cursor`` also gets
``iter_<name>``, which follows the cursors and yields the items. The hand-written part (transport,
retries, errors, idempotency keys) is in ``scrm_sdk/_base.py``.

This script imports the server to read the live document; the package it writes never does.
"""

from __future__ import annotations

import builtins
import json
import keyword
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TARGET = HERE / "src" / "scrm_sdk" / "_generated.py"
#: tags of plugins that are not part of scrm (the suite's own test plugin): no SDK methods
EXCLUDED_TAGS = frozenset({"testplugin"})
METHODS = ("get", "put", "post", "patch", "delete")
#: operations whose body is not JSON but a raw stream (NDJSON or CSV), sent as ``content``
RAW_BODY = {"importMembers": "text/csv"}
#: a body of this media type (the OAuth endpoints') is sent as form fields
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


def live_document() -> dict[str, Any]:
    """The OpenAPI document of an app with every installed plugin (no database is touched)."""
    from scrm import create_app
    from scrm.kernel import Kernel
    from scrm.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(
            {
                "SCRM_DATA_DIR": tmp,
                "SCRM_DATABASE_URL": f"sqlite://{tmp}/schema.sqlite3",
                "SCRM_SECRET_KEY": "generate-" + "x" * 40,
            }
        )
        app = create_app(kernel=Kernel(settings), configure_logs=False)
        document: dict[str, Any] = app.openapi_schema.to_schema()
    return document


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def identifier(name: str) -> str:
    name = re.sub(r"\W", "_", name)
    return f"{name}_" if keyword.iskeyword(name) or name in {"body", "self"} else name


def class_name(component: str) -> str:
    """``Page_scrm.schemas.MemberOut_`` → ``MemberOutPage``; other names stay (made identifiers)."""
    page = re.fullmatch(r"Page_(?:[\w.]+\.)?(\w+?)_", component)
    if page:
        return f"{page.group(1)}Page"
    return re.sub(r"\W", "_", component)


class Generator:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.components: dict[str, Any] = document.get("components", {}).get("schemas", {})
        self.struct_names = {
            class_name(name)
            for name, schema in self.components.items()
            if schema.get("type") == "object" and "properties" in schema
        }
        self.lines: list[str] = []

    # types ------------------------------------------------------------------------------------
    def is_struct(self, schema: dict[str, Any]) -> bool:
        if "$ref" in schema:
            target = self.components.get(schema["$ref"].rsplit("/", 1)[-1], {})
            return target.get("type") == "object" and "properties" in target
        return False

    def is_mapping(self, schema: dict[str, Any]) -> bool:
        return self.is_struct(schema) or (schema.get("type") == "object")

    def type_of(self, schema: dict[str, Any] | None) -> str:
        """The Python annotation for a JSON schema (``Any`` where msgspec could not tell members apart)."""
        if not schema:
            return "Any"
        if "$ref" in schema:
            return class_name(schema["$ref"].rsplit("/", 1)[-1])
        for combinator in ("oneOf", "anyOf"):
            if combinator in schema:
                members = schema[combinator]
                if (
                    sum(1 for m in members if self.is_mapping(m)) > 1
                    or sum(1 for m in members if m.get("type") == "array") > 1
                ):
                    return "Any"
                return " | ".join(dict.fromkeys(self.type_of(m) for m in members))
        if "allOf" in schema and len(schema["allOf"]) == 1:
            return self.type_of(schema["allOf"][0])
        if "enum" in schema:
            values = [v for v in schema["enum"] if v is not None]
            literal = f"Literal[{', '.join(repr(v) for v in values)}]"
            return f"{literal} | None" if None in schema["enum"] else literal
        if "const" in schema:
            return f"Literal[{schema['const']!r}]"
        kind = schema.get("type")
        if isinstance(kind, list):
            return " | ".join(self.type_of({**schema, "type": k}) for k in kind)
        if kind == "string":
            return {"date-time": "datetime.datetime", "date": "datetime.date"}.get(schema.get("format", ""), "str")
        if kind == "integer":
            return "int"
        if kind == "number":
            return "float"
        if kind == "boolean":
            return "bool"
        if kind == "null":
            return "None"
        if kind == "array":
            return f"list[{self.type_of(schema.get('items'))}]"
        if kind == "object":
            extra = schema.get("additionalProperties")
            value = self.type_of(extra) if isinstance(extra, dict) and extra else "Any"
            return f"dict[str, {value}]"
        return "Any"

    @staticmethod
    def optional(annotation: str) -> str:
        return annotation if annotation.endswith("| None") or annotation in ("Any", "None") else f"{annotation} | None"

    # output -----------------------------------------------------------------------------------
    def emit(self, line: str = "") -> None:
        self.lines.append(line)

    def docstring(self, text: str, indent: str) -> None:
        text = " ".join(text.split()).replace("\\", "\\\\").replace('"""', "'''")
        self.emit(f'{indent}"""{text}"""')

    def models(self) -> None:
        for name in sorted(self.components):
            schema = self.components[name]
            if schema.get("type") != "object" or "properties" not in schema:
                self.emit(f"{class_name(name)} = {self.type_of(schema)}")
                self.emit()
                continue
            self.emit()
            self.emit(f"class {class_name(name)}(msgspec.Struct, kw_only=True):")
            title = schema.get("title") or class_name(name)
            self.docstring(schema.get("description") or f"``{title}``, as the API takes or gives it.", "    ")
            required = set(schema.get("required", []))
            for field, prop in schema["properties"].items():
                annotation = self.type_of(prop)
                attribute = identifier(field)
                rename = f', name="{field}"' if attribute != field else ""
                if field in required:
                    default = f" = msgspec.field({rename[2:]})" if rename else ""
                    self.emit(f"    {attribute}: {annotation}{default}")
                else:
                    self.emit(f"    {attribute}: {annotation} | UnsetType = msgspec.field(default=UNSET{rename})")
            self.emit()

    def operations(self) -> dict[str, list[dict[str, Any]]]:
        """Operations by tag, each with what its method needs, in a stable order."""
        by_tag: dict[str, list[dict[str, Any]]] = {}
        for path, item in sorted(self.document["paths"].items()):
            for method in METHODS:
                operation = item.get(method)
                if not operation:
                    continue
                tag = operation.get("tags", ["default"])[0]
                if tag in EXCLUDED_TAGS:
                    continue
                by_tag.setdefault(tag, []).append({**operation, "method": method, "path": path, "tag": tag})
        for ops in by_tag.values():
            ops.sort(key=lambda op: op["operationId"])
        return dict(sorted(by_tag.items()))

    def response_type(self, operation: dict[str, Any]) -> str:
        for status, response in sorted(operation.get("responses", {}).items()):
            if not status.startswith("2"):
                continue
            content = response.get("content") or {}
            json_schema = content.get("application/json", {}).get("schema")
            if json_schema is None or json_schema.get("type") == "string":
                return "None" if not content else "bytes"
            alternatives = json_schema.get("oneOf", [])
            if len(alternatives) > 1 and all(self.is_struct(s) for s in alternatives):
                return " | ".join(self.type_of(s) for s in alternatives)  # decoded as the first that fits
            return self.type_of(json_schema)
        return "None"

    def method_name(self, operation: dict[str, Any]) -> str:
        op_id: str = operation["operationId"]
        tag: str = operation["tag"]
        if op_id.startswith(tag) and op_id[len(tag) : len(tag) + 1].isupper():
            op_id = op_id[len(tag) :]
        name = snake(op_id)
        # a method named like a builtin would shadow it in the class's own annotations
        return f"{name}_{identifier(snake(tag))}" if name in vars(builtins) else name

    def namespaces(self, by_tag: dict[str, list[dict[str, Any]]]) -> None:
        self.emit("OPERATIONS: dict[str, Operation] = {")
        for ops in by_tag.values():
            for op in ops:
                self.emit(
                    f'    "{op["operationId"]}": Operation("{op["method"].upper()}", "{op["path"]}", '
                    f'"{op["tag"]}", "{self.method_name(op)}"),'
                )
        self.emit("}")
        self.emit()
        for tag, ops in by_tag.items():
            for asynchronous in (False, True):
                self.namespace(tag, ops, asynchronous)
        for asynchronous in (False, True):
            prefix = "Async" if asynchronous else "Sync"
            self.emit()
            self.emit(f"class {prefix}Namespaces:")
            self.emit(f'    """The namespaces of the {"async " if asynchronous else ""}client, one per tag."""')
            self.emit()
            for tag in by_tag:
                self.emit(f"    {identifier(snake(tag))}: {'Async' if asynchronous else ''}{pascal(tag)}")
            self.emit()
            self.emit("    def _attach(self) -> None:")
            for tag in by_tag:
                self.emit(
                    f"        self.{identifier(snake(tag))} = {'Async' if asynchronous else ''}{pascal(tag)}(self)"
                )
            self.emit()

    def namespace(self, tag: str, ops: list[dict[str, Any]], asynchronous: bool) -> None:
        base = "AsyncNamespace" if asynchronous else "SyncNamespace"
        self.emit()
        self.emit(f"class {'Async' if asynchronous else ''}{pascal(tag)}({base}):")
        tag_doc = next((t.get("description") for t in self.document.get("tags", []) if t.get("name") == tag), None)
        self.docstring(tag_doc or f"The ``{tag}`` operations.", "    ")
        for op in ops:
            self.method(op, asynchronous)

    def method(self, op: dict[str, Any], asynchronous: bool) -> None:
        params = [p for p in op.get("parameters", []) if p.get("in") in ("path", "query")]
        path_params = [p for p in params if p["in"] == "path"]
        query_params = [p for p in params if p["in"] == "query"]
        signature = ["self"]
        for p in path_params:
            signature.append(f"{identifier(p['name'])}: {self.type_of(p.get('schema'))}")
        body = op.get("requestBody")
        raw = RAW_BODY.get(op["operationId"])
        keyword_only: list[str] = []
        form = FORM_MEDIA_TYPE in body.get("content", {}) if body else False
        if body:
            schema = body.get("content", {}).get(FORM_MEDIA_TYPE if form else "application/json", {}).get("schema", {})
            annotation = self.type_of(schema)
            if annotation != "Any":  # a plain dict (or list of dicts) does as well as the model
                annotation += " | dict[str, Any]" + (" | list[dict[str, Any]]" if "list[" in annotation else "")
            if body.get("required"):
                signature.append(f"body: {annotation}")
            else:
                keyword_only.append(f"body: {annotation} | None = None")
        if raw:
            signature.append("content: bytes | str")
            keyword_only.append(f'content_type: str = "{raw}"')
        for p in query_params:
            keyword_only.append(f"{identifier(p['name'])}: {self.optional(self.type_of(p.get('schema')))} = None")
        if keyword_only:
            signature.append("*")
            signature.extend(keyword_only)
        returns = self.response_type(op)
        name = self.method_name(op)
        if returns in ("None", "bytes"):
            decoded_as = f'"{returns}"'
        elif " | " in returns and all(part in self.struct_names for part in returns.split(" | ")):
            decoded_as = f"({returns.replace(' | ', ', ')})"  # untagged: each model tried in turn
        else:
            decoded_as = returns
        call = [f'"{op["operationId"]}"', decoded_as]
        if path_params:
            call.append("path={" + ", ".join(f'"{p["name"]}": {identifier(p["name"])}' for p in path_params) + "}")
        if query_params:
            call.append("query={" + ", ".join(f'"{p["name"]}": {identifier(p["name"])}' for p in query_params) + "}")
        if body:
            call.append("form=body" if form else "body=body")
        if raw:
            call.append("content=content, content_type=content_type")
        prefix = "async " if asynchronous else ""
        await_ = "await " if asynchronous else ""
        self.emit()
        self.emit(f"    {prefix}def {name}({', '.join(signature)}) -> {returns}:")
        summary = op.get("summary") or op["operationId"]
        description = op.get("description") or ""
        self.docstring(f"{summary}. {description}".strip(), "        ")
        if returns == "None":
            self.emit(f"        {await_}self._call({', '.join(call)})")
        elif returns == "Any":
            self.emit(f"        return {await_}self._call({', '.join(call)})")
        else:
            self.emit(f'        return cast("{returns}", {await_}self._call({", ".join(call)}))')
        item = self.page_item(op, returns)
        if item is None:
            return
        iterator = "AsyncIterator" if asynchronous else "Iterator"
        without_cursor = [s for s in signature if not s.startswith("cursor:")]
        pages_query = [p for p in query_params if p["name"] != "cursor"]
        query = "query={" + ", ".join(f'"{p["name"]}": {identifier(p["name"])}' for p in pages_query) + "}"
        call = [query if c.startswith("query=") else c for c in call]
        self.emit()
        self.emit(f"    def iter_{name}({', '.join(without_cursor)}) -> {iterator}[{item}]:")
        self.docstring(f"{summary}: every item, following the cursors page by page.", "        ")
        self.emit(f"        return self._pages({', '.join(call)})")

    def page_item(self, op: dict[str, Any], returns: str) -> str | None:
        """The item type when the operation is a cursor-paginated list, else None."""
        if not any(p.get("name") == "cursor" and p.get("in") == "query" for p in op.get("parameters", [])):
            return None
        for component, schema in self.components.items():
            if class_name(component) == returns and {"items", "next_cursor"} <= set(schema.get("properties", {})):
                return self.type_of(schema["properties"]["items"].get("items"))
        return None

    def render(self) -> str:
        self.emit('"""Generated by ``sdk/generate.py`` from the scrm OpenAPI document: do not edit by hand."""')
        self.emit()
        self.emit("# ruff: noqa: E501, RUF100")
        self.emit("from __future__ import annotations")
        self.emit()
        self.emit("import datetime")
        self.emit("from collections.abc import AsyncIterator, Iterator")
        self.emit("from typing import Any, Literal, cast")
        self.emit()
        self.emit("import msgspec")
        self.emit("from msgspec import UNSET, UnsetType")
        self.emit()
        self.emit("from scrm_sdk._base import AsyncNamespace, Operation, SyncNamespace")
        self.emit()
        self.emit()
        self.models()
        self.emit()
        self.namespaces(self.operations())
        text = "\n".join(self.lines)
        return re.sub(r"\n{3,}", "\n\n\n", text).rstrip() + "\n"


def render(document: dict[str, Any]) -> str:
    """The module text for ``document``, formatted as the repository formats Python."""
    import subprocess

    text = Generator(document).render()
    for command in (["check", "--fix", "--quiet"], ["format"]):  # the repository's lint fixes and layout
        text = subprocess.run(  # noqa: S603  # this interpreter's ruff on generated text
            [sys.executable, "-m", "ruff", *command, "--stdin-filename", str(TARGET), "-"],
            input=text,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return text


def main(argv: list[str]) -> None:
    document = json.loads(Path(argv[0]).read_text(encoding="utf-8")) if argv else live_document()
    TARGET.write_text(render(document), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main(sys.argv[1:])
