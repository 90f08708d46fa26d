"""The ``tierslieu`` command: serve, migrate, load the demo, create an admin.

Its messages go through gettext in the operator's language: ``TIERSLIEU_LANGUAGE`` (fr, en),
French by default (not ``LANG``: a server's ``en_US.UTF-8`` says little about who reads).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tierslieu import db, i18n
from tierslieu.errors import DomainError, render_problem
from tierslieu.settings import Settings, SettingsError

T = TypeVar("T")


def _texts() -> i18n.Texts:
    return i18n.texts(i18n.choose(os.environ.get("TIERSLIEU_LANGUAGE", "").strip().lower()))


def _run_with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def _main() -> T:
        engine = db.create_engine(settings)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(_main())


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from tierslieu.clients import uvicorn_proxy_options
    from tierslieu.serving import serve

    revision = db.current_revision(settings)
    if revision is None:
        _ = _texts()
        print(
            _("La base n'est pas initialisée : lancez d'abord `tierslieu db upgrade`."),
            file=sys.stderr,
        )
        return 1
    if args.no_worker:
        # The app (and every uvicorn worker process) reads its settings from the environment.
        os.environ["TIERSLIEU_DELIVERY_IN_PROCESS"] = "0"
    try:
        serve(
            "tierslieu.app:create_app",
            host=args.host,
            port=args.port,
            workers=args.workers,
            http=args.http,
            loop=args.loop,
            # X-Forwarded-* only from TIERSLIEU_TRUSTED_PROXIES (uvicorn's default trusts 127.0.0.1).
            **uvicorn_proxy_options(settings),
            log_level="info",
            server_header=False,
        )
    except OSError as exc:
        _ = _texts()
        print(
            _(
                "Impossible d'écouter sur {host}:{port} : {error}",
                host=args.host,
                port=args.port,
                error=exc,
            ),
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_worker(settings: Settings, _args: argparse.Namespace) -> int:
    """Deliver the outbox until SIGTERM or SIGINT (beside `tierslieu serve --no-worker`)."""
    import logging
    import signal

    from tierslieu.services.delivery import DeliveryLoop

    if db.current_revision(settings) is None:
        _ = _texts()
        print(
            _("La base n'est pas initialisée : lancez d'abord `tierslieu db upgrade`."),
            file=sys.stderr,
        )
        return 1
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    async def _main() -> None:
        engine = db.create_engine(settings)
        delivery = DeliveryLoop(engine, settings)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, delivery.ask_to_stop)
        try:
            await delivery.task
        except asyncio.CancelledError:
            pass
        finally:
            await engine.dispose()

    logging.getLogger("tierslieu.delivery").info(
        "delivery worker started (%s)", "SMTP" if settings.smtp_url else "no SMTP: messages kept"
    )
    asyncio.run(_main())
    return 0


def cmd_db(settings: Settings, args: argparse.Namespace) -> int:
    _ = _texts()
    if args.action == "upgrade":
        db.upgrade(settings, args.revision or "head")
        print(_("Base de données à jour ({revision}).", revision=db.current_revision(settings)))
    elif args.action == "downgrade":
        db.downgrade(settings, args.revision or "base")
        revision = db.current_revision(settings)
        if revision:
            print(_("Base de données ramenée à {revision}.", revision=revision))
        else:
            print(_("Base de données vidée (aucune migration)."))
    else:
        print(db.current_revision(settings) or _("(vide)"))
    return 0


def cmd_demo(settings: Settings, _args: argparse.Namespace) -> int:
    from tierslieu.services.demo import DEMO_PASSWORD, load_demo

    accounts = _run_with_session(settings, lambda s: load_demo(s, settings))
    _ = _texts()
    print(
        _(
            "Données de démonstration chargées. Comptes (mot de passe commun : {password}) :",
            password=DEMO_PASSWORD,
        )
    )
    for account in accounts:
        print(f"  {account.email:<32} {account.note}")
    return 0


def cmd_create_admin(settings: Settings, args: argparse.Namespace) -> int:
    from tierslieu.services.accounts import create_admin

    _run_with_session(
        settings, lambda s: create_admin(s, settings, email=args.email, password=args.password)
    )
    _ = _texts()
    print(_("Administrateur prêt : {email}", email=args.email))
    return 0


# --- personal data retention and backups ------------------------------------------------------


def cmd_purge(settings: Settings, _args: argparse.Namespace) -> int:
    from tierslieu.services.personal_data import purge

    report = _run_with_session(settings, lambda s: purge(s, settings))
    _ = _texts()
    print(
        _.ngettext(
            "Purge des données personnelles (conservation : {n} jour) :",
            "Purge des données personnelles (conservation : {n} jours) :",
            settings.retention_days,
        )
    )
    for line in report.lines(_):
        print(f"  {line}")
    return 0


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from tierslieu.services.backup import BackupError, backup

    try:
        result = backup(settings, Path(args.file))
    except BackupError as exc:
        print(exc, file=sys.stderr)
        return 1
    _ = _texts()
    print(
        _.ngettext(
            "Sauvegarde écrite : {path} ({n} page, migration {revision}, "
            "PRAGMA integrity_check : ok).",
            "Sauvegarde écrite : {path} ({n} pages, migration {revision}, "
            "PRAGMA integrity_check : ok).",
            result.pages,
            path=result.path,
            revision=result.revision,
        )
    )
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from tierslieu.services.backup import BackupError, restore

    try:
        revision = restore(settings, Path(args.file))
    except BackupError as exc:
        print(exc, file=sys.stderr)
        return 1
    _ = _texts()
    print(
        _("Base restaurée depuis {file} (migration {revision}).", file=args.file, revision=revision)
    )
    print(_("Lancez `tierslieu db upgrade` avant de redémarrer le service."))
    return 0


def add_data_commands(sub: Any) -> None:
    purge = sub.add_parser("purge", help="apply the personal data retention periods now")
    purge.set_defaults(func=cmd_purge)
    backup = sub.add_parser("backup", help="copy the SQLite database while the service runs")
    backup.add_argument("file")
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser("restore", help="restore a backup (stop the service first)")
    restore.add_argument("file")
    restore.set_defaults(func=cmd_restore)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tierslieu", description="tierslieu — tiers-lieux booking service"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--http",
        choices=["auto", "httptools", "h11"],
        default="auto",
        help="HTTP parser (auto: httptools when installed)",
    )
    serve.add_argument(
        "--loop",
        choices=["auto", "uvloop", "asyncio"],
        default="auto",
        help="event loop (auto: uvloop when installed)",
    )
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="do not deliver e-mails in this process (run `tierslieu worker` beside it)",
    )
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="deliver the e-mail outbox until stopped")
    worker.set_defaults(func=cmd_worker)

    database = sub.add_parser("db", help="database migrations")
    database.add_argument("action", choices=["upgrade", "downgrade", "current"])
    database.add_argument("revision", nargs="?", default=None)
    database.set_defaults(func=cmd_db)

    demo = sub.add_parser("demo", help="load the demo data (idempotent)")
    demo.set_defaults(func=cmd_demo)

    admin = sub.add_parser("create-admin", help="create or promote a platform admin")
    admin.add_argument("email")
    admin.add_argument("--password", required=True)
    admin.set_defaults(func=cmd_create_admin)
    add_data_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        _ = _texts()
        print(_("Configuration invalide : {error}", error=exc), file=sys.stderr)
        return 2
    try:
        return int(args.func(settings, args) or 0)
    except DomainError as exc:
        _ = _texts()
        title, detail = render_problem(exc, _.lang)
        fields: Any = "; ".join(
            f"{f.field} : {i18n.field_message(f.message_code, _.lang, f.params)}"
            for f in exc.fields
        )
        print(
            _("Refusé ({code}) : {title}. {detail}", code=exc.code, title=title, detail=detail),
            file=sys.stderr,
        )
        if fields:
            print(fields, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
