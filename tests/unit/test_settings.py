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
