"""The tests boot a real, migrated scrm app with every installed plugin (this one included):
``scrm.testing`` gives the ``kernel``, ``client``, ``tenant`` and ``other`` fixtures."""

pytest_plugins = ["scrm.testing"]
