"""One frozen settings object, read once from ``TIERSLIEU_*`` environment variables."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEV_SECRET_KEY = "dev-secret-change-me"

# --- robustness: the one date horizon every input is checked against (domain/horizon.py) ---
# No date later than today + DATE_HORIZON_DAYS (about two years), nor before EARLIEST_DATE,
# is accepted anywhere, staff included: it bounds every schedule expansion.
DATE_HORIZON_DAYS = 731
EARLIEST_DATE = dt.date(2000, 1, 1)


class SettingsError(ValueError):
    """A TIERSLIEU_* variable holds a value the service cannot run with."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = "sqlite+aiosqlite:///./tierslieu.db"
    secret_key: str = DEV_SECRET_KEY
    default_timezone: str = "Europe/Paris"
    # Public origin used to build absolute links (calendar subscriptions, e-mails).
    public_url: str = "http://127.0.0.1:8000"
    debug: bool = False
    echo_sql: bool = False
    # Database connections each process keeps (10 more may open at peaks). PostgreSQL:
    # keep workers × (pool + 10) under the server's max_connections (100 by default).
    db_pool_size: int = 20
    # Connections opened at start-up, before the first request (`tierslieu serve`: 16 or
    # the pool size): opened on demand, the first burst waited for them (p99 230 ms).
    db_warm_connections: int = 0
    # Lifetime of a bearer token issued at login.
    token_ttl_hours: int = 24 * 30
    # Failed logins tolerated per account / per client address in the window before 429.
    login_max_failures_per_account: int = 5
    login_max_failures_per_client: int = 20
    login_failure_window_minutes: int = 15
    # "default" (RFC 9106 low-memory profile) or "fast" (cheapest; test suites only).
    password_hash_profile: str = "default"
    max_body_bytes: int = 1_048_576
    # One-second per-process cache of public listings (off: every read hits the database).
    listing_cache: bool = True
    # A request still running after this many seconds is cut with 503 (request-timeout).
    request_timeout_seconds: float = 30.0
    # --- accounts: trusted proxies and throttles (see README "Security: accounts") ---
    # Proxies whose X-Forwarded-For is believed (IPs or CIDRs); none: the socket peer is the client.
    trusted_proxies: tuple[str, ...] = ()
    # Registrations accepted per client address in the window, then 429.
    register_max_per_client: int = 10
    register_window_minutes: int = 60
    # Failures on one account (from any clients) after which every attempt waits a little.
    login_slowdown_after_failures: int = 10
    login_slowdown_ms: int = 2000
    # Personal data: guests' contact details are erased this many days after their last
    # booking or order; the retention purge runs every purge_every_hours (0: never by itself).
    retention_days: int = 365
    purge_every_hours: int = 24
    # Benchmarks: log the event loop's lag percentiles at shutdown (runtime.LoopLag).
    loop_lag_log: bool = False
    # --- notifications (services/outbox.py) ---
    # smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465 (implicit TLS);
    # empty: messages are kept for the admin page /admin/courriels and logged, never sent.
    smtp_url: str = ""
    mail_from: str = "tierslieu <ne-pas-repondre@localhost>"
    # Attempts before a message is marked failed (retries back off exponentially).
    outbox_max_attempts: int = 8
    # The delivery loop inside `tierslieu serve` (off: `--no-worker`, or a separate
    # `tierslieu worker`); how often it looks for due messages; how long a claimed message
    # is a worker's before another may take it (a worker killed mid-send lets it go).
    delivery_in_process: bool = True
    delivery_every_seconds: float = 5.0
    outbox_lease_seconds: int = 120
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def uses_dev_secret(self) -> bool:
        return self.secret_key == DEV_SECRET_KEY

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from the environment; raises SettingsError on a bad value."""
        env = os.environ if environ is None else environ
        defaults = cls()

        def get(name: str, default: str) -> str:
            return env.get(f"TIERSLIEU_{name}", default)

        def get_int(name: str, default: int) -> int:
            raw = get(name, str(default))
            try:
                return int(raw)
            except ValueError:
                raise SettingsError(f"TIERSLIEU_{name} must be an integer, got {raw!r}") from None

        def get_bool(name: str, default: bool) -> bool:
            return get(name, "1" if default else "0").strip().lower() in {"1", "true", "yes", "on"}

        tz = get("DEFAULT_TIMEZONE", "Europe/Paris")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"TIERSLIEU_DEFAULT_TIMEZONE: unknown time zone {tz!r}") from None
        raw_timeout = get("REQUEST_TIMEOUT_SECONDS", str(defaults.request_timeout_seconds))
        try:
            request_timeout = float(raw_timeout)
        except ValueError:
            request_timeout = -1.0
        if not request_timeout > 0:
            raise SettingsError("TIERSLIEU_REQUEST_TIMEOUT_SECONDS must be a positive number")
        profile = get("PASSWORD_HASH_PROFILE", "default")
        if profile not in {"default", "fast"}:
            raise SettingsError("TIERSLIEU_PASSWORD_HASH_PROFILE must be 'default' or 'fast'")
        return cls(
            database_url=normalise_database_url(get("DATABASE_URL", defaults.database_url)),
            secret_key=get("SECRET_KEY", DEV_SECRET_KEY),
            default_timezone=tz,
            public_url=get("PUBLIC_URL", defaults.public_url).rstrip("/"),
            debug=get_bool("DEBUG", False),
            echo_sql=get_bool("ECHO_SQL", False),
            db_pool_size=_at_least(1, "DB_POOL_SIZE", get_int("DB_POOL_SIZE", 20)),
            db_warm_connections=_at_least(
                0, "DB_WARM_CONNECTIONS", get_int("DB_WARM_CONNECTIONS", 16)
            ),
            token_ttl_hours=get_int("TOKEN_TTL_HOURS", defaults.token_ttl_hours),
            login_max_failures_per_account=get_int(
                "LOGIN_MAX_FAILURES_PER_ACCOUNT", defaults.login_max_failures_per_account
            ),
            login_max_failures_per_client=get_int(
                "LOGIN_MAX_FAILURES_PER_CLIENT", defaults.login_max_failures_per_client
            ),
            login_failure_window_minutes=get_int(
                "LOGIN_FAILURE_WINDOW_MINUTES", defaults.login_failure_window_minutes
            ),
            password_hash_profile=profile,
            max_body_bytes=get_int("MAX_BODY_BYTES", defaults.max_body_bytes),
            listing_cache=get_bool("LISTING_CACHE", True),
            request_timeout_seconds=request_timeout,
            trusted_proxies=parse_trusted_proxies(get("TRUSTED_PROXIES", "")),
            register_max_per_client=get_int(
                "REGISTER_MAX_PER_CLIENT", defaults.register_max_per_client
            ),
            register_window_minutes=get_int(
                "REGISTER_WINDOW_MINUTES", defaults.register_window_minutes
            ),
            login_slowdown_after_failures=get_int(
                "LOGIN_SLOWDOWN_AFTER_FAILURES", defaults.login_slowdown_after_failures
            ),
            login_slowdown_ms=get_int("LOGIN_SLOWDOWN_MS", defaults.login_slowdown_ms),
            retention_days=_at_least(1, "RETENTION_DAYS", get_int("RETENTION_DAYS", 365)),
            purge_every_hours=_at_least(0, "PURGE_EVERY_HOURS", get_int("PURGE_EVERY_HOURS", 24)),
            loop_lag_log=get_bool("LOOP_LAG_LOG", False),
            smtp_url=_smtp_url(get("SMTP_URL", "").strip()),
            mail_from=_mail_from(
                get("MAIL_FROM", defaults.mail_from).strip() or defaults.mail_from
            ),
            outbox_max_attempts=_at_least(
                1, "OUTBOX_MAX_ATTEMPTS", get_int("OUTBOX_MAX_ATTEMPTS", 8)
            ),
            delivery_in_process=get_bool("DELIVERY_IN_PROCESS", True),
            delivery_every_seconds=_positive_float(
                "DELIVERY_EVERY_SECONDS", get("DELIVERY_EVERY_SECONDS", "5")
            ),
            outbox_lease_seconds=_at_least(
                5, "OUTBOX_LEASE_SECONDS", get_int("OUTBOX_LEASE_SECONDS", 120)
            ),
        )


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where mail goes, from ``TIERSLIEU_SMTP_URL``.

    ``smtps://`` is implicit TLS (port 465 by default). ``smtp://`` (port 587 by default)
    requires STARTTLS, except towards a loopback address (a local relay, the tests), where
    STARTTLS is used if the server offers it and plain SMTP otherwise.
    """

    hostname: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    # True: STARTTLS required; None: when offered (loopback only).
    start_tls: bool | None


LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def parse_smtp_url(url: str) -> SmtpServer:
    """Read ``smtp://user:pass@host:587`` or ``smtps://user:pass@host:465``; raises SettingsError."""
    from urllib.parse import unquote, urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise SettingsError("TIERSLIEU_SMTP_URL: not a URL (smtp://host:587)") from None
    scheme = parts.scheme.lower()
    if scheme not in {"smtp", "smtps"}:
        raise SettingsError(
            "TIERSLIEU_SMTP_URL must start with smtp:// (STARTTLS) or smtps:// (implicit TLS)"
        )
    if not parts.hostname:
        raise SettingsError("TIERSLIEU_SMTP_URL has no host name (smtp://host:587)")
    if parts.path not in {"", "/"} or parts.query or parts.fragment:
        raise SettingsError("TIERSLIEU_SMTP_URL takes no path nor query (smtp://host:587)")
    host = parts.hostname
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host.lower() in LOOPBACK_NAMES
    implicit = scheme == "smtps"
    return SmtpServer(
        hostname=host,
        port=port or (465 if implicit else 587),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        implicit_tls=implicit,
        start_tls=False if implicit else (None if loopback else True),
    )


def _mail_from(raw: str) -> str:
    from email.utils import parseaddr

    address = parseaddr(raw)[1]
    if "@" not in address or "\n" in raw or "\r" in raw:
        raise SettingsError("TIERSLIEU_MAIL_FROM must be an address: Name <address@example.org>")
    return raw


def _smtp_url(raw: str) -> str:
    if raw:
        parse_smtp_url(raw)
    return raw


def _positive_float(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise SettingsError(f"TIERSLIEU_{name} must be a positive number, got {raw!r}")
    return value


def parse_trusted_proxies(raw: str) -> tuple[str, ...]:
    """``TIERSLIEU_TRUSTED_PROXIES``: comma-separated IPs or CIDRs, normalised."""
    networks: list[str] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise SettingsError(
                f"TIERSLIEU_TRUSTED_PROXIES: {item!r} is not an IP address or network"
            ) from None
    return tuple(networks)


def _at_least(minimum: int, name: str, value: int) -> int:
    if value < minimum:
        raise SettingsError(f"TIERSLIEU_{name} must be at least {minimum}, got {value}")
    return value


def normalise_database_url(url: str) -> str:
    """Accept the usual short forms and return an async-driver URL."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite:///"):
        url = "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    if not (url.startswith("sqlite+aiosqlite://") or url.startswith("postgresql+asyncpg://")):
        raise SettingsError(
            "TIERSLIEU_DATABASE_URL must be a SQLite (sqlite:///file.db) "
            "or PostgreSQL (postgresql://user@host/db) URL"
        )
    return url
