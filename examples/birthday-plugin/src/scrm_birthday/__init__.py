"""Birthday greetings: an scrm plugin."""
