"""The whole workspace's tests (scrm's and its plugins') share one migrated kernel per run.

``./dev test`` runs the suite twice, on SQLite then on PostgreSQL. Tests marked
``engine_independent`` never touch the run's database (they make their own, or none), so the
PostgreSQL half leaves them out instead of repeating them."""

import os

import pytest

pytest_plugins = ["scrm.testing"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("SCRM_TEST_DATABASE") != "postgres":  # as scrm.testing reads it
        return
    repeated = [item for item in items if item.get_closest_marker("engine_independent")]
    if repeated:
        config.hook.pytest_deselected(items=repeated)
        items[:] = [item for item in items if not item.get_closest_marker("engine_independent")]
