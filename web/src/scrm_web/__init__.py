"""scrm-web — scrm's admin console (jinja2 + htmx), mounted at ``/console`` by the core's app.

:class:`ConsolePlugin` is what the ``scrm.frontends`` entry point names. Plugins do not import this
package: they describe their pages with the core's :class:`scrm.ConsolePages`.
"""

from scrm_web.plugin import ConsolePlugin

__all__ = ["ConsolePlugin"]
