"""End-to-end tests of the console in headless Chromium, driven by Playwright (issue 4).

What runs: one real scrm per test session — ``scrm demo --members 200`` in a subprocess on a free
port, which migrates a database of its own on the run's backend (a SQLite file, or a fresh
PostgreSQL database when ``SCRM_TEST_DATABASE=postgres``), seeds the demo workspace and serves it;
one Chromium per session (Debian's ``/usr/bin/chromium``, or ``SCRM_TEST_CHROMIUM``: Playwright never
downloads a browser); a fresh browser context (cookies, storage) per test.

Run them: ``uv run pytest tests/browser -q -p no:cacheprovider``. They also run in ``./dev test``;
``-m "not browser"`` leaves them out. CI installs Chromium and a CJK font in ``.ci/run``.

Artifacts, in ``test-artifacts/`` (or ``SCRM_TEST_ARTIFACTS``): ``screenshots/<backend>/<name>.png``,
``screenshots/<backend>/failed/<test>.png`` for each failed test, and the server's output in
``logs/server-<backend>.log``.

Fixtures (``conftest.py``):

- ``server``: the running scrm — ``url``, the demo owner's ``username``/``password``, the demo
  workspace's all-scopes ``api_key``, the ``backend``; ``await server.cli(...)`` runs a ``scrm``
  command on its database, ``await server.new_operator("viewer")`` makes an operator with that role
  in the demo workspace (for a test that needs another role, or changes what is an operator's own,
  such as their language).
- ``api``: an ``httpx.AsyncClient`` on the server's API with that key, to look things up or set state
  up without the console.
- ``page``: a new page in a new context, in English; an uncaught script error on it fails the test.
- ``signed_in_page``: ``page`` with the cookies of the demo owner's sign-in through the form (made
  once per session). A test that signs out must sign in for itself, with ``ui.sign_in``.
- ``snap``: ``await snap(page, "members")`` saves ``screenshots/<backend>/members.png``.

Helpers are in ``ui.py`` (``sign_in``, ``open_page`` that fails clearly on a missing page …) and
``server.py``. A new test module here only needs these fixtures; the server and the browser start
once whatever the number of tests.

This folder is a package so that its ``conftest`` module is ``browser.conftest``: folders of tests
without ``__init__.py`` all name theirs ``conftest``, and the last one imported would shadow
``tests/conftest.py`` for the modules that ``from conftest import ...``.
"""
