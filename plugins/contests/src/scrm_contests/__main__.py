"""``python -m scrm_contests rank FILE``."""

from scrm_contests.cli import contests

contests()
