"""Settings read from the environment, and process logging (formats, secret redaction)."""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from scrm.logs import RedactSecrets, configure_logging
from scrm.settings import DatabaseURL, Settings, SettingsError, redact

SECRET = "k" * 32
KEY = "scrm_" + "Ab3-_x" * 8


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"SCRM_DATA_DIR": str(tmp_path / "data"), **env})


def error_of(tmp_path: Path, **env: str) -> str:
    with pytest.raises(SettingsError) as info:
        settings(tmp_path, **env)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- Settings.from_env ------------------------------------------------------------------------


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = Settings.from_env({})
    assert s.data_dir == tmp_path / "scrm-data"
    assert s.data_dir.is_absolute()
    assert s.database == DatabaseURL(dialect="sqlite", path=tmp_path / "scrm-data" / "scrm.sqlite3")
    assert s.log_format == "text"
    assert s.log_level == "INFO"
    assert s.db_pool_size == 10
    assert s.redis_url is None
    assert s.plugins_allowed is None
    assert len(s.secret_key) >= 32
    assert (tmp_path / "scrm-data" / "secret_key").read_text() == s.secret_key


def test_reads_the_process_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRM_DATA_DIR", str(tmp_path / "env-data"))
    monkeypatch.setenv("SCRM_SECRET_KEY", SECRET)
    monkeypatch.setenv("SCRM_LOG_LEVEL", "warning")
    monkeypatch.delenv("SCRM_DATABASE_URL", raising=False)
    s = Settings.from_env()
    assert s.data_dir == tmp_path / "env-data"
    assert s.secret_key == SECRET
    assert s.log_level == "WARNING"


def test_relative_data_dir_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = Settings.from_env({"SCRM_DATA_DIR": "rel/dir", "SCRM_SECRET_KEY": SECRET})
    assert s.data_dir == tmp_path / "rel" / "dir"
    assert s.database.path == tmp_path / "rel" / "dir" / "scrm.sqlite3"


def test_all_settings(tmp_path: Path) -> None:
    s = settings(
        tmp_path,
        SCRM_DATABASE_URL="postgresql://alice:s3cret@db.example.com:6543/crm",
        SCRM_SECRET_KEY=SECRET,
        SCRM_REDIS_URL="redis://cache:6379/2",
        SCRM_LOG_FORMAT="JSON",
        SCRM_LOG_LEVEL="debug",
        SCRM_DB_POOL_SIZE="25",
        SCRM_PLUGINS=" points, lottery,,",
    )
    assert s.database.dialect == "postgres"
    assert s.secret_key == SECRET
    assert s.redis_url == "redis://cache:6379/2"
    assert s.log_format == "json"
    assert s.log_level == "DEBUG"
    assert s.db_pool_size == 25
    assert s.plugins_allowed == frozenset({"points", "lottery"})
    assert SECRET not in repr(s)
    assert "s3cret" not in repr(s)


def test_empty_plugin_list_allows_none(tmp_path: Path) -> None:
    assert settings(tmp_path, SCRM_SECRET_KEY=SECRET, SCRM_PLUGINS="").plugins_allowed == frozenset()


@pytest.mark.parametrize("value", ["redis://localhost", "rediss://u:p@cache:6380/0", "unix:///tmp/redis.sock"])
def test_redis_urls(tmp_path: Path, value: str) -> None:
    assert settings(tmp_path, SCRM_SECRET_KEY=SECRET, SCRM_REDIS_URL=value).redis_url == value


@pytest.mark.parametrize("value", ["1", "10", "1000"])
def test_pool_sizes(tmp_path: Path, value: str) -> None:
    assert settings(tmp_path, SCRM_SECRET_KEY=SECRET, SCRM_DB_POOL_SIZE=value).db_pool_size == int(value)


# --- database URLs ----------------------------------------------------------------------------


def test_sqlite_url() -> None:
    url = DatabaseURL.parse("sqlite:///var/lib/scrm/scrm.db")
    assert url.dialect == "sqlite"
    assert url.path == Path("/var/lib/scrm/scrm.db")
    assert str(url) == "sqlite:///var/lib/scrm/scrm.db"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("postgresql://alice:s3cret@db.example.com:6543/crm", ("db.example.com", 6543, "alice", "s3cret", "crm")),
        ("postgres://db/crm", ("db", 5432, "postgres", None, "crm")),
        ("postgresql://bob@127.0.0.1/scrm_prod", ("127.0.0.1", 5432, "bob", None, "scrm_prod")),
    ],
)
def test_postgres_url(value: str, expected: tuple[object, ...]) -> None:
    url = DatabaseURL.parse(value)
    assert url.dialect == "postgres"
    assert url.path is None
    assert (url.host, url.port, url.user, url.password, url.database) == expected


def test_password_is_redacted() -> None:
    url = DatabaseURL.parse("postgresql://alice:s3cret@db.example.com:6543/crm")
    assert str(url) == "postgresql://alice:***@db.example.com:6543/crm"
    assert "s3cret" not in repr(url)
    assert str(DatabaseURL.parse("postgresql://alice@db/crm")) == "postgresql://alice@db:5432/crm"
    assert redact("postgresql://alice:s3cret@db/crm") == "postgresql://alice:***@db/crm"
    assert redact("postgresql://alice@db/crm") == "postgresql://alice@db/crm"


@pytest.mark.parametrize(
    "value",
    [
        "mysql://x",
        "x",
        "sqlite://relative/path.db",
        "sqlite:///",
        "sqlite://",
        "postgresql://db.example.com",
        "postgresql://db.example.com/",
        "postgresql:///crm",
        "postgresql://alice:s3cret@db:notaport/crm",
        "postgresql://alice:s3cret@db:99999/crm",
    ],
)
def test_bad_database_urls(tmp_path: Path, value: str) -> None:
    message = error_of(tmp_path, SCRM_DATABASE_URL=value, SCRM_SECRET_KEY=SECRET)
    assert message.startswith("SCRM_DATABASE_URL: ")
    assert "s3cret" not in message


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SCRM_LOG_FORMAT": "xml"}, "SCRM_LOG_FORMAT"),
        ({"SCRM_LOG_LEVEL": "loud"}, "SCRM_LOG_LEVEL"),
        ({"SCRM_LOG_LEVEL": "CRITICAL"}, "SCRM_LOG_LEVEL"),
        ({"SCRM_DB_POOL_SIZE": "0"}, "SCRM_DB_POOL_SIZE"),
        ({"SCRM_DB_POOL_SIZE": "1001"}, "SCRM_DB_POOL_SIZE"),
        ({"SCRM_DB_POOL_SIZE": "ten"}, "SCRM_DB_POOL_SIZE"),
        ({"SCRM_DB_POOL_SIZE": "-5"}, "SCRM_DB_POOL_SIZE"),
        ({"SCRM_REDIS_URL": "http://cache"}, "SCRM_REDIS_URL"),
        ({"SCRM_SECRET_KEY": "x" * 31}, "SCRM_SECRET_KEY"),
        ({"SCRM_DATABASE_URL": "postgresql://db/crm"}, "SCRM_SECRET_KEY"),
    ],
)
def test_errors_name_the_variable(tmp_path: Path, env: dict[str, str], variable: str) -> None:
    assert error_of(tmp_path, **env).startswith(f"{variable}: ")


def test_redis_password_is_not_in_the_error(tmp_path: Path) -> None:
    message = error_of(tmp_path, SCRM_SECRET_KEY=SECRET, SCRM_REDIS_URL="http://u:hunter2@cache")
    assert "hunter2" not in message
    assert "***" in message


# --- console sign-in through OIDC --------------------------------------------------------------

OIDC = {
    "SCRM_OIDC_ISSUER": "https://id.example.com/realms/staff",
    "SCRM_OIDC_CLIENT_ID": "scrm-console",
    "SCRM_OIDC_CLIENT_SECRET": "client-s3cret",
}


def test_oidc_is_off_unless_configured(tmp_path: Path) -> None:
    assert settings(tmp_path, SCRM_SECRET_KEY=SECRET).oidc is None


def test_oidc_settings(tmp_path: Path) -> None:
    oidc = settings(tmp_path, SCRM_SECRET_KEY=SECRET, **OIDC).oidc
    assert oidc is not None
    assert (oidc.issuer, oidc.client_id, oidc.client_secret) == (
        "https://id.example.com/realms/staff",
        "scrm-console",
        "client-s3cret",
    )
    assert (oidc.name, oidc.username_claim) == ("single sign-on", "email")
    assert "client-s3cret" not in repr(oidc)
    named = settings(
        tmp_path,
        SCRM_SECRET_KEY=SECRET,
        SCRM_OIDC_NAME="Acme ID",
        SCRM_OIDC_USERNAME_CLAIM="preferred_username",
        **OIDC,
    ).oidc
    assert named is not None
    assert (named.name, named.username_claim) == ("Acme ID", "preferred_username")
    local = settings(tmp_path, SCRM_SECRET_KEY=SECRET, **(OIDC | {"SCRM_OIDC_ISSUER": "http://localhost:8080/"})).oidc
    assert local is not None  # plain http only to this machine, to try a provider out


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SCRM_OIDC_CLIENT_ID": "", "SCRM_OIDC_CLIENT_SECRET": ""}, "SCRM_OIDC_CLIENT_ID"),
        ({"SCRM_OIDC_CLIENT_SECRET": ""}, "SCRM_OIDC_CLIENT_SECRET"),
        ({"SCRM_OIDC_ISSUER": ""}, "SCRM_OIDC_ISSUER"),
        ({"SCRM_OIDC_ISSUER": "http://id.example.com"}, "SCRM_OIDC_ISSUER"),
        ({"SCRM_OIDC_ISSUER": "id.example.com"}, "SCRM_OIDC_ISSUER"),
        ({"SCRM_OIDC_ISSUER": "https://id.example.com/?tenant=1"}, "SCRM_OIDC_ISSUER"),
        ({"SCRM_OIDC_USERNAME_CLAIM": "e mail"}, "SCRM_OIDC_USERNAME_CLAIM"),
        ({"SCRM_OIDC_NAME": "x" * 61}, "SCRM_OIDC_NAME"),
    ],
)
def test_oidc_errors_name_the_variable(tmp_path: Path, env: dict[str, str], variable: str) -> None:
    message = error_of(tmp_path, SCRM_SECRET_KEY=SECRET, **(OIDC | env))  # an empty value counts as unset
    assert message.startswith(f"{variable}: ")
    assert "client-s3cret" not in message


# --- the secret key file ----------------------------------------------------------------------


def test_secret_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    first = settings(tmp_path)
    key_file = tmp_path / "data" / "secret_key"
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text() == first.secret_key
    assert len(first.secret_key) >= 32
    second = settings(tmp_path)
    assert second.secret_key == first.secret_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert settings(tmp_path / "elsewhere").secret_key != first.secret_key


def test_existing_secret_key_file_is_used(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "secret_key").write_text("  from-the-file-" + "f" * 32 + "\n")
    assert settings(tmp_path).secret_key == "from-the-file-" + "f" * 32


def test_environment_secret_key_wins_and_writes_no_file(tmp_path: Path) -> None:
    s = settings(tmp_path, SCRM_SECRET_KEY=SECRET)
    assert s.secret_key == SECRET
    assert not (tmp_path / "data" / "secret_key").exists()


def test_postgres_needs_a_secret_key_and_writes_no_file(tmp_path: Path) -> None:
    message = error_of(tmp_path, SCRM_DATABASE_URL="postgresql://alice:s3cret@db/crm")
    assert message.startswith("SCRM_SECRET_KEY: ")
    assert "s3cret" not in message
    assert not (tmp_path / "data" / "secret_key").exists()


# --- logging ----------------------------------------------------------------------------------


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """The root logger (and uvicorn's), restored as they were after the test."""
    root = logging.getLogger()
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    saved = (
        list(root.handlers),
        root.level,
        {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate) for n in names},
    )
    yield root
    handlers, level, others = saved
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers = handlers
    root.setLevel(level)
    for name, (h, propagate) in others.items():
        logging.getLogger(name).handlers = h
        logging.getLogger(name).propagate = propagate


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_logs(tmp_path: Path, root_logger: logging.Logger, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(settings(tmp_path, SCRM_LOG_FORMAT="json", SCRM_LOG_LEVEL="info"))
    assert root_logger.level == logging.INFO
    assert len(root_logger.handlers) == 1
    log = logging.getLogger("scrm.test.json")
    log.info("hello %s", "world", extra={"workspace": "acme"})
    log.debug("not shown")
    logging.getLogger("uvicorn.error").warning("from uvicorn")
    lines = json_lines(capsys.readouterr().err)
    assert len(lines) == 2, lines
    first, second = lines
    assert first["message"] == "hello world"
    assert first["level"] == "INFO"
    assert first["name"] == "scrm.test.json"
    assert first["workspace"] == "acme"
    assert first["asctime"]
    assert second["name"] == "uvicorn.error"
    assert second["level"] == "WARNING"


def test_text_logs(tmp_path: Path, root_logger: logging.Logger, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(settings(tmp_path, SCRM_LOG_LEVEL="WARNING"))
    log = logging.getLogger("scrm.test.text")
    log.info("hidden")
    log.warning("careful: %d left", 3)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "WARNING" in lines[0]
    assert lines[0].endswith("scrm.test.text: careful: 3 left")


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_api_keys_are_redacted(
    tmp_path: Path, root_logger: logging.Logger, capsys: pytest.CaptureFixture[str], log_format: str
) -> None:
    configure_logging(settings(tmp_path, SCRM_LOG_FORMAT=log_format))
    log = logging.getLogger("scrm.test.redact")
    log.info("key in the message " + KEY)
    log.info("key as an argument: %s (%d)", KEY, 7)
    try:
        raise ValueError(f"rejected key {KEY}")
    except ValueError:
        log.exception("failed for %s", KEY)
    err = capsys.readouterr().err
    assert KEY not in err
    assert KEY[12:] not in err
    assert KEY[:12] + "…" in err or KEY[:12] + "\\u2026" in err
    assert "(7)" in err
    assert "ValueError: rejected key" in err
    if log_format == "json":
        records = json_lines(err)
        assert len(records) == 3
        assert records[1]["message"] == f"key as an argument: {KEY[:12]}… (7)"
        assert "Traceback" in str(records[2]["exc_info"])


def test_redact_filter_on_a_record() -> None:
    record = logging.LogRecord("scrm", logging.INFO, __file__, 1, "Authorization: Bearer %s", (KEY,), None)
    assert RedactSecrets().filter(record) is True
    assert record.getMessage() == f"Authorization: Bearer {KEY[:12]}…"
    plain = logging.LogRecord("scrm", logging.INFO, __file__, 1, "%d members, scrm_ prefix", (3,), None)
    assert RedactSecrets().filter(plain) is True
    assert plain.getMessage() == "3 members, scrm_ prefix"  # too short to be a key: left alone
    untouched = logging.LogRecord("scrm", logging.INFO, __file__, 1, "%s imported", ("demo",), None)
    RedactSecrets().filter(untouched)
    assert untouched.args == ("demo",)


FORGED = "/api/v1/x\n2026-01-01 00:00:00,000 INFO    scrm: forged\r\x1b[2J"


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_control_characters_cannot_forge_a_line(
    tmp_path: Path, root_logger: logging.Logger, capsys: pytest.CaptureFixture[str], log_format: str
) -> None:
    """A request path with ``%0A`` (the 500 log line writes it), an extra field or an exception's
    message: every control character is escaped, so no line of the output starts with the forgery."""
    configure_logging(settings(tmp_path, SCRM_LOG_FORMAT=log_format))
    log = logging.getLogger("scrm.errors")
    try:
        try:
            raise KeyError(FORGED)
        except KeyError as exc:
            raise ValueError(f"while reading {FORGED}") from exc
    except ValueError:
        log.exception("unhandled error on %s %s", "GET", FORGED, extra={"path": FORGED})
    log.warning(FORGED)
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert "\r" not in err
    assert not [line for line in err.splitlines() if line.startswith("2026-01-01")]
    if log_format == "json":
        first, second = json_lines(err)
        assert (
            first["message"]
            == "unhandled error on GET /api/v1/x\\n2026-01-01 00:00:00,000 INFO    scrm: forged\\r\\x1b[2J"
        )
        assert first["path"] == first["message"].removeprefix("unhandled error on GET ")
        assert "ValueError: while reading /api/v1/x\\n2026" in str(first["exc_info"])
        assert "KeyError: '/api/v1/x\\n2026" in str(first["exc_info"])
        assert second["message"].startswith("/api/v1/x\\n2026")
    else:
        lines = err.splitlines()
        assert lines[0].endswith(
            "scrm.errors: unhandled error on GET /api/v1/x\\n2026-01-01 00:00:00,000 INFO    scrm: forged\\r\\x1b[2J"
        )
        assert any(line.startswith("ValueError: while reading /api/v1/x\\n2026") for line in lines)
        assert lines[-1].endswith("scrm.errors: /api/v1/x\\n2026-01-01 00:00:00,000 INFO    scrm: forged\\r\\x1b[2J")
