"""A journeys worker process for the crash test: advances due runs until it is killed.

Run as ``python journeys_worker.py`` with ``SCRM_DATABASE_URL``, ``SCRM_SECRET_KEY`` and
``SCRM_DATA_DIR`` set to the test's; it prints ``ready`` once its kernel is up."""

from __future__ import annotations

import asyncio
import os

import scrm
from scrm_journeys import runner


async def main() -> None:
    settings = scrm.Settings.from_env(dict(os.environ))
    kernel = scrm.Kernel(settings)
    await kernel.start()
    print("ready", flush=True)
    while True:
        await runner.advance(kernel)
        await asyncio.sleep(0.05)


if __name__ == "__main__":
    asyncio.run(main())
