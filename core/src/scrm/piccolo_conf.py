"""piccolo's configuration module (``PICCOLO_CONF=scrm.piccolo_conf``).

scrm assigns ``DB`` and ``APP_REGISTRY`` when it binds its database (``scrm.db.Database.bind``), so
piccolo's migration machinery uses the same engine and sees the core's and every plugin's app.
"""

from __future__ import annotations

from typing import Any

from piccolo.conf.apps import AppRegistry

DB: Any = None
APP_REGISTRY: AppRegistry = AppRegistry(apps=[])
