"""Backups of the SQLite database while the service runs, and restoring one.

PostgreSQL has its own tools (``pg_dump`` / ``pg_restore``): these functions refuse it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory

from tierslieu import db
from tierslieu.settings import Settings

# Pages copied per step, and the pause between steps so that writers keep going.
PAGES_PER_STEP = 256
PAUSE_BETWEEN_STEPS = 0.005
# A write by another process restarts an online backup; after this many restarts
# the copy is taken in one step (one read transaction: WAL writers still proceed).
MAX_RESTARTS = 3
BUSY_TIMEOUT_SECONDS = 15

PG_HELP_FR = """La base est PostgreSQL : utilisez ses outils, qui copient une base en service.
  sauvegarde : pg_dump --format=custom --file=tierslieu.dump "$TIERSLIEU_DATABASE_URL"
  restauration (service arrêté, base vide) :
               pg_restore --clean --if-exists --no-owner --dbname="$TIERSLIEU_DATABASE_URL" tierslieu.dump
  (écrivez l'URL sous la forme postgresql://…, sans « +asyncpg »)"""


class BackupError(Exception):
    """A backup or restore that cannot be done; the message is for the person (French)."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    pages: int
    revision: str
    restarts: int


def sqlite_path(settings: Settings) -> Path:
    if not settings.is_sqlite:
        raise BackupError(PG_HELP_FR)
    raw = settings.database_url.split(":///", 1)[1]
    if not raw or raw.startswith(":memory:"):
        raise BackupError("Base SQLite en mémoire : rien à sauvegarder.")
    return Path(raw.split("?", 1)[0])


def known_revisions(settings: Settings) -> set[str]:
    script = ScriptDirectory.from_config(db.alembic_config(settings))
    return {rev.revision for rev in script.walk_revisions()}


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    target = f"file:{path}?mode=ro" if read_only else f"file:{path}"
    connection = sqlite3.connect(target, uri=True, timeout=BUSY_TIMEOUT_SECONDS)
    connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
    return connection


def check_copy(path: Path, settings: Settings) -> str:
    """The migration revision of a tierslieu database file that passes integrity_check."""
    if not path.is_file():
        raise BackupError(f"Fichier introuvable : {path}")
    try:
        with contextlib.closing(_connect(path, read_only=True)) as connection:
            integrity = connection.execute("PRAGMA integrity_check").fetchone()
            if not integrity or integrity[0] != "ok":
                raise BackupError(f"{path} est endommagé (PRAGMA integrity_check : {integrity}).")
            try:
                row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
                connection.execute("SELECT 1 FROM booking LIMIT 1")
            except sqlite3.DatabaseError:
                raise BackupError(f"{path} n'est pas une base tierslieu.") from None
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} n'est pas une base SQLite lisible ({exc}).") from None
    if row is None or row[0] not in known_revisions(settings):
        raise BackupError(
            f"{path} est à une migration inconnue de cette version ({row[0] if row else 'aucune'})."
        )
    return str(row[0])


def backup(settings: Settings, destination: Path) -> BackupResult:
    """Copy the live database to ``destination`` with SQLite's online backup API.

    The copy is written to a temporary file beside the destination, checked
    (integrity and migration), then renamed: a failed backup never leaves a
    half-written file under the destination name.
    """
    source_path = sqlite_path(settings)
    if not source_path.is_file():
        raise BackupError(f"Base introuvable : {source_path}")
    destination = destination.resolve()
    if destination == source_path.resolve():
        raise BackupError("La copie doit être un autre fichier que la base.")
    temporary = destination.with_name(f".{destination.name}.partiel")
    temporary.unlink(missing_ok=True)
    restarts = 0
    last_remaining: int | None = None

    class _Restart(Exception):
        pass

    def progress(_status: int, remaining: int, _total: int) -> None:
        nonlocal last_remaining, restarts
        if last_remaining is not None and remaining > last_remaining:
            restarts += 1
            if restarts > MAX_RESTARTS:
                raise _Restart()
        last_remaining = remaining
        time.sleep(PAUSE_BETWEEN_STEPS)

    try:
        with (
            contextlib.closing(_connect(source_path)) as source,
            contextlib.closing(sqlite3.connect(temporary)) as target,
        ):
            try:
                source.backup(target, pages=PAGES_PER_STEP, progress=progress)
            except _Restart:
                source.backup(target, pages=-1)  # one consistent step
            pages = target.execute("PRAGMA page_count").fetchone()[0]
            # The copy stands alone: no WAL file is needed to read it.
            target.execute("PRAGMA journal_mode=DELETE")
        revision = check_copy(temporary, settings)
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)
    return BackupResult(destination, pages, revision, restarts)


def restore(settings: Settings, source: Path) -> str:
    """Replace the database's content by the backup ``source`` (the service must be stopped).

    The backup is checked first (integrity, a tierslieu database at a known migration);
    it is then written through SQLite's backup API, which takes the database's locks and
    leaves no stale WAL behind, unlike copying files over a live database.
    """
    target_path = sqlite_path(settings)
    revision = check_copy(source, settings)
    with (
        contextlib.closing(_connect(source, read_only=True)) as backup_db,
        contextlib.closing(_connect(target_path)) as live,
    ):
        backup_db.backup(live, pages=-1)
        live.execute("PRAGMA journal_mode=WAL")
    return revision
