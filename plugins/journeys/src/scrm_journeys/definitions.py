"""Checking a journey's definition beyond its types, and what a trigger listens to.

Each mistake is a 422 naming the field (``definition.steps[2].template``), all at once."""

from __future__ import annotations

import msgspec
import scrm

from scrm_journeys.schemas import Action, Condition, Definition, Wait

_encode = msgspec.json.Encoder()
_decode = msgspec.json.Decoder(Definition)

#: the event type each trigger kind listens to (an ``event`` trigger names its own)
TRIGGER_EVENTS = {"tag": "tags.changed", "segment": "segment.entered", "date": ""}


def encode(definition: Definition) -> str:
    return _encode.encode(definition).decode()


def decode(text: str) -> Definition:
    return _decode.decode(text)


def trigger_key(definition: Definition) -> str:
    t = definition.trigger
    return t.event_type or "" if t.kind == "event" else TRIGGER_EVENTS[t.kind]


async def check(kernel: scrm.Kernel, definition: Definition) -> None:
    """A 422 naming every field at fault, a webhook step's URL that the outbound guard refuses included."""
    errors: list[dict[str, str]] = []

    def need(field: str, value: object, message: str = "required here") -> None:
        if value is None or value == "":
            errors.append(scrm.field_error(field, message))

    t = definition.trigger
    need(
        "definition.trigger.event_type",
        t.event_type if t.kind == "event" else "-",
        "an event trigger names its event type",
    )
    need("definition.trigger.tag", t.tag if t.kind == "tag" else "-", "a tag trigger names its tag")
    need("definition.trigger.segment", t.segment if t.kind == "segment" else "-", "a segment trigger names its segment")
    need("definition.trigger.attribute", t.attribute if t.kind == "date" else "-", "a date trigger names its attribute")
    for i, step in enumerate(definition.steps):
        at = f"definition.steps[{i}]"
        if isinstance(step, Wait) and step.seconds is None and step.until is None:
            errors.append(scrm.field_error(f"{at}.seconds", "a wait needs seconds, until, or both"))
        elif isinstance(step, Condition):
            tests = (step.has_tag, step.attribute, step.segment, step.event_since_entry)
            if all(x is None for x in tests):
                errors.append(scrm.field_error(f"{at}.has_tag", "a condition needs at least one test"))
            if step.equals is not None and step.attribute is None:
                errors.append(scrm.field_error(f"{at}.attribute", "equals compares an attribute: name it"))
        elif isinstance(step, Action):
            if step.action == "send":
                need(f"{at}.template", step.template)
                need(f"{at}.purpose", step.purpose)
            elif step.action in ("tag_add", "tag_remove"):
                need(f"{at}.tag", step.tag)
            elif step.action == "points":
                need(f"{at}.amount", step.amount)
            elif step.action == "lottery":
                need(f"{at}.campaign_id", step.campaign_id)
            elif step.action == "webhook":
                refused = await kernel.outbound.refusal(step.url or "")
                if refused is not None:
                    errors.append(scrm.field_error(f"{at}.url", refused))
    if errors:
        raise scrm.invalid_fields(errors)
