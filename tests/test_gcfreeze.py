"""``scrm serve`` and ``scrm worker`` freeze what they built at startup out of the garbage collector's
sight (see :mod:`scrm.gcfreeze`); test processes, which build many apps, do not."""

from __future__ import annotations

import gc
from types import SimpleNamespace
from typing import Any

import pytest
import scrm.app
from scrm.gcfreeze import freeze_startup_objects


def test_freezing_moves_live_objects_to_the_permanent_generation() -> None:
    assert gc.get_freeze_count() == 0
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()


def test_only_the_served_app_freezes_at_startup(monkeypatch: pytest.MonkeyPatch) -> None:
    """The factory ``scrm serve`` runs adds the freeze to the app's startup; ``create_app`` (what
    tests and embedders call) does not. (No real app here: building one binds the tables to it.)"""
    made: list[Any] = []

    def fake_create_app(*args: Any, **kwargs: Any) -> Any:
        made.append(SimpleNamespace(on_startup=[]))
        return made[-1]

    monkeypatch.setattr(scrm.app, "create_app", fake_create_app)
    assert scrm.app.app_from_env().on_startup == [freeze_startup_objects]
    assert made[0].on_startup == [freeze_startup_objects]


def test_a_test_app_does_not_freeze(app: Any) -> None:
    assert freeze_startup_objects not in app.on_startup
