"""``python -m scrm_lottery verify FILE`` — the same as ``scrm lottery verify FILE``."""

from scrm_lottery.cli import lottery

lottery(prog_name="python -m scrm_lottery")
