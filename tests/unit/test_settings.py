import pytest

from tierslieu.settings import Settings, SettingsError


def test_defaults_are_an_embedded_sqlite_file_in_paris():
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite+aiosqlite:///./tierslieu.db"
    assert settings.default_timezone == "Europe/Paris"
    assert settings.uses_dev_secret


def test_postgres_urls_get_the_async_driver():
    settings = Settings.from_env({"TIERSLIEU_DATABASE_URL": "postgres://u@h:5432/db"})
    assert settings.database_url == "postgresql+asyncpg://u@h:5432/db"
    assert not settings.is_sqlite


def test_bad_values_are_refused_clearly():
    with pytest.raises(SettingsError, match="time zone"):
        Settings.from_env({"TIERSLIEU_DEFAULT_TIMEZONE": "Mars/Olympus"})
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        Settings.from_env({"TIERSLIEU_DATABASE_URL": "mysql://x"})
    with pytest.raises(SettingsError, match="integer"):
        Settings.from_env({"TIERSLIEU_TOKEN_TTL_HOURS": "lots"})


def test_secret_key_from_environment_silences_the_warning():
    settings = Settings.from_env({"TIERSLIEU_SECRET_KEY": "a-long-random-secret"})
    assert not settings.uses_dev_secret


def test_smtp_url_forms_and_refusals():
    from tierslieu.settings import parse_smtp_url

    env = {"TIERSLIEU_SMTP_URL": "smtp://ada%40tl:p%2Fss@smtp.example.org"}
    assert Settings.from_env(env).smtp_url == env["TIERSLIEU_SMTP_URL"]
    server = parse_smtp_url(env["TIERSLIEU_SMTP_URL"])
    assert (server.hostname, server.port, server.username, server.password) == (
        "smtp.example.org",
        587,
        "ada@tl",
        "p/ss",
    )
    assert server.start_tls is True and not server.implicit_tls  # STARTTLS required
    implicit = parse_smtp_url("smtps://mail.example.org")
    assert implicit.port == 465 and implicit.implicit_tls and implicit.start_tls is False
    assert parse_smtp_url("smtp://127.0.0.1:2525").start_tls is None  # loopback: if offered
    assert Settings.from_env({}).smtp_url == ""
    for bad in ("http://x", "smtp://", "smtp://h:99999", "smtp://h/path", "smtp://h?tls=0", "h:25"):
        with pytest.raises(SettingsError):
            Settings.from_env({"TIERSLIEU_SMTP_URL": bad})
    with pytest.raises(SettingsError):
        Settings.from_env({"TIERSLIEU_DELIVERY_EVERY_SECONDS": "0"})
    assert Settings.from_env({"TIERSLIEU_DELIVERY_IN_PROCESS": "0"}).delivery_in_process is False
    with pytest.raises(SettingsError, match="MAIL_FROM"):
        Settings.from_env({"TIERSLIEU_MAIL_FROM": "personne"})
    named = Settings.from_env({"TIERSLIEU_MAIL_FROM": "Les Tilleuls <bonjour@tilleuls.test>"})
    assert named.mail_from == "Les Tilleuls <bonjour@tilleuls.test>"
