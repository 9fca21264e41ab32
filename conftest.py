"""The whole workspace's tests (scrm's and its plugins') share one migrated kernel per run."""

pytest_plugins = ["scrm.testing"]
