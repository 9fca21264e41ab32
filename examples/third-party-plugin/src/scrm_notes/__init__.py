"""scrm-notes: operators' notes on members (an example scrm plugin)."""
