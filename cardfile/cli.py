"""The `cardfile` command: the embedded demo, the web server, the worker, any Django command."""

from __future__ import annotations

import argparse
import gettext
import os
import sys
from collections.abc import Sequence
from pathlib import Path

SETTINGS_MODULE = "cardfile.core.settings"
WSGI_APPLICATION = "cardfile.core.wsgi:application"
# With none of these set the settings give the embedded default (SQLite in ./var, no Redis).
SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL")


def _translation() -> gettext.NullTranslations:
    # The CLI parses its arguments before Django is set up, so it reads the project's catalog
    # with the standard library; `makemessages` still collects these strings.
    language = os.environ.get("CARDFILE_LANGUAGE")
    return gettext.translation(
        "django",
        localedir=Path(__file__).resolve().parent / "locale",
        languages=[language] if language else None,
        fallback=True,
    )


_ = _translation().gettext


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `cardfile` command line; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    if args[:1] == ["manage"]:
        # Everything after `manage` belongs to Django, including --help and --settings.
        return _manage(args[1:])
    options = _parser().parse_args(args)
    return options.handler(options)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cardfile",
        description=_(
            "Cardfile: a low-code data platform for repair shops and service businesses."
        ),
    )
    commands = parser.add_subparsers(title=_("commands"), metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo",
        help=_(
            "set up the embedded default (SQLite in ./var) with an admin account and a "
            "preset with demo data, then serve"
        ),
        description=_(
            "Migrate the embedded default database, create an admin account if there is none "
            "(its password is shown once), install a trade's preset with demo data on the "
            "first start, then serve. DATABASE_URL and REDIS_URL are ignored."
        ),
    )
    _add_serve_arguments(demo)
    demo.add_argument(
        "--preset",
        default="phone_repair",
        help=_(
            "the trade's preset installed with demo data on the first start: phone_repair, "
            "car_service or dry_cleaning (default: %(default)s)"
        ),
    )
    demo.set_defaults(handler=_demo)

    serve = commands.add_parser(
        "serve",
        help=_("serve the web application with gunicorn"),
        description=_("Collect static files, then serve the web application with gunicorn."),
    )
    _add_serve_arguments(serve)
    serve.set_defaults(handler=_serve)

    bench = commands.add_parser(
        "bench",
        help=_("measure the API, record writes and schema changes on PostgreSQL"),
        description=_(
            "Run the benchmarks in a scratch database on the PostgreSQL server DATABASE_URL "
            "names (created and dropped by the command; your data is not touched) and print "
            "one table of results, each a ratio against a baseline measured in the same run."
        ),
    )
    _add_bench_arguments(bench)
    bench.set_defaults(handler=_bench)

    reminders = commands.add_parser(
        "reminders",
        help=_("reminders: `cardfile reminders run` scans and sends the due ones now"),
        description=_("Work with reminders and notifications."),
    )
    reminder_commands = reminders.add_subparsers(
        title=_("commands"), metavar="COMMAND", required=True
    )
    reminder_commands.add_parser(
        "run",
        help=_("scan the reminders once and send what is due (what the scheduler runs)"),
        description=_(
            "Scan every active reminder once, record and send the messages that are due, and "
            "send the deliveries waiting for a retry; prints what was done."
        ),
    ).set_defaults(handler=_reminders_run)

    preset = commands.add_parser(
        "preset",
        help=_("industry presets: list, install (or upgrade) and export"),
        description=_(
            "A preset is a folder of YAML that sets up entities, roles, statuses, reminders and "
            "demo data for a trade. Installing is all or nothing and safe to repeat."
        ),
    )
    preset_commands = preset.add_subparsers(title=_("commands"), metavar="COMMAND", required=True)
    preset_commands.add_parser(
        "list",
        help=_("list the shipped presets and what is installed"),
        description=_("List the shipped presets, with the version installed here if any."),
    ).set_defaults(handler=_preset, action="list")
    install = preset_commands.add_parser(
        "install",
        help=_("install or upgrade a preset by name or from a folder"),
        description=_(
            "Install a shipped preset (by name) or a preset folder (by path). Installing a "
            "newer version upgrades: new fields, states, roles and reminders are added; nothing "
            "is deleted and what you changed yourself is kept."
        ),
    )
    install.add_argument("source", metavar="NAME|FOLDER", help=_("a preset name or folder"))
    install.add_argument(
        "--demo-data", action="store_true", help=_("also load the preset's demo records")
    )
    install.add_argument(
        "--dry-run", action="store_true", help=_("print the plan and change nothing")
    )
    install.add_argument("--locale", help=_("install labels in this language, e.g. ru"))
    install.add_argument("--currency", help=_("currency for money fields, e.g. EUR"))
    install.set_defaults(handler=_preset, action="install")
    export = preset_commands.add_parser(
        "export",
        help=_("write the running configuration as a preset folder"),
        description=_(
            "Write the entities, fields, layouts, shared views, roles, reminders and "
            "notification rules of this installation to DIR in the preset format."
        ),
    )
    export.add_argument("directory", metavar="DIR", help=_("folder to write (created if missing)"))
    export.add_argument("--name", default="export", help=_("preset name (default: %(default)s)"))
    export.add_argument("--title", default="", help=_("preset title"))
    export.add_argument(
        "--version", type=int, default=1, help=_("preset version (default: %(default)s)")
    )
    export.set_defaults(handler=_preset, action="export")

    setup = commands.add_parser(
        "setup",
        help=_("first-start setup without the browser: trade, company, owner account"),
        description=_(
            "Do what the first-start wizard does: install the preset for a trade, record the "
            "company, currency and locale, create branches and the owner's account, and "
            "optionally load demo data."
        ),
    )
    _add_setup_arguments(setup)
    setup.set_defaults(handler=_setup)

    worker = commands.add_parser(
        "worker",
        help=_("run a Celery worker with beat for background jobs (needs REDIS_URL)"),
        description=_(
            "Run a Celery worker, with the beat scheduler in the same process, that runs "
            "Cardfile's background jobs. It needs Redis: set REDIS_URL."
        ),
    )
    worker.add_argument(
        "--concurrency",
        type=int,
        help=_("worker processes (default: one per CPU)"),
    )
    worker.add_argument("--loglevel", default="INFO", help=_("log level (default: %(default)s)"))
    worker.set_defaults(handler=_worker)

    commands.add_parser(
        "manage",
        help=_("run a Django management command, e.g. `cardfile manage migrate`"),
        add_help=False,
    )
    return parser


def _add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help=_("address to bind (default: %(default)s)")
    )
    parser.add_argument(
        "--port", type=int, default=8000, help=_("port to bind (default: %(default)s)")
    )
    parser.add_argument(
        "--workers",
        type=int,
        help=_("gunicorn worker processes (default: 1 with 4 threads on SQLite, else 2)"),
    )


def _add_setup_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trade",
        default="empty",
        help=_("phone_repair, car_service, dry_cleaning or empty (default: %(default)s)"),
    )
    parser.add_argument("--company", required=True, help=_("the company's name"))
    parser.add_argument("--currency", help=_("ISO currency code (default: the preset's)"))
    parser.add_argument("--locale", help=_("language and formats, e.g. en or ru"))
    parser.add_argument(
        "--branch",
        action="append",
        default=[],
        help=_("a branch (shop) name; repeat for several"),
    )
    parser.add_argument("--owner-username", required=True, help=_("the owner's login"))
    parser.add_argument("--owner-email", default="", help=_("the owner's email"))
    parser.add_argument(
        "--owner-password-env",
        default="CARDFILE_OWNER_PASSWORD",
        help=_("environment variable holding the owner's password (default: %(default)s)"),
    )
    parser.add_argument("--demo-data", action="store_true", help=_("load the demo records"))


def _preset(options: argparse.Namespace) -> int:
    import django

    django.setup()
    from cardfile.presets.commands import run

    return run(options)


def _setup(options: argparse.Namespace) -> int:
    import django

    django.setup()
    from cardfile.presets.setup import setup_command

    return setup_command(options)


def _add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    from cardfile.benchmarks.runner import parse_only

    def positive(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            number = 0
        if number < 1:
            raise argparse.ArgumentTypeError(_("expected a whole number of at least 1"))
        return number

    parser.add_argument(
        "--rows",
        type=positive,
        default=1_000_000,
        help=_("records in the listed and altered table (default: %(default)s)"),
    )
    parser.add_argument(
        "--creates",
        type=positive,
        default=10_000,
        help=_("records written by each create benchmark (default: %(default)s)"),
    )
    parser.add_argument(
        "--repeat",
        type=positive,
        default=50,
        help=_("timed requests per list measurement (default: %(default)s)"),
    )
    parser.add_argument(
        "--only",
        type=parse_only,
        default="list,create,schema,formula,permissions",
        help=_("comma-separated scenarios to run (default: %(default)s)"),
    )
    parser.add_argument(
        "scenarios",
        nargs="?",
        type=parse_only,
        help=_("scenarios to run instead of --only, e.g. `cardfile bench reminders`"),
    )


def _bench(options: argparse.Namespace) -> int:
    from cardfile.benchmarks.runner import run

    return run(
        rows=options.rows,
        creates=options.creates,
        repeat=options.repeat,
        only=options.scenarios or options.only,
    )


def _reminders_run(options: argparse.Namespace) -> int:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("reminders_run")
    return 0


def _manage(args: list[str]) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["cardfile manage", *args])
    return 0


def _worker(options: argparse.Namespace) -> int:
    if not os.environ.get("REDIS_URL"):
        print(
            _(
                "cardfile worker needs Redis: set REDIS_URL, e.g. redis://127.0.0.1:6379/0. "
                "Without it (the embedded default) jobs run inside the web process and no "
                "worker is needed."
            ),
            file=sys.stderr,
        )
        return 2
    command = [
        sys.executable,
        "-m",
        "celery",
        "--app",
        "cardfile.core.celery",
        "worker",
        "--beat",
        "--loglevel",
        options.loglevel,
    ]
    if options.concurrency:
        command += ["--concurrency", str(options.concurrency)]
    sys.stdout.flush()
    sys.stderr.flush()
    # Replace this process, so a supervisor's signals (warm shutdown on TERM) reach Celery.
    os.execv(sys.executable, command)  # noqa: S606 - fixed argv, no shell
    return 0  # pragma: no cover - execv does not return


def _demo(options: argparse.Namespace) -> int:
    for name in SERVICE_VARIABLES:
        if os.environ.pop(name, None) is not None:
            print(
                _("Ignoring %(name)s: the demo always runs the embedded default.") % {"name": name},
                file=sys.stderr,
            )
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    print(_("Preparing the database in %(path)s ...") % {"path": settings.VAR_DIR}, flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("ensure_admin")
    return _demo_preset(options.preset) or _serve(options)


def _demo_preset(trade: str) -> int:
    """Install the demo's preset with its demo data on the first start; 0 when ready."""
    from django.contrib.auth import get_user_model

    from cardfile.core.exceptions import CardfileError
    from cardfile.presets.setup import setup_demo

    admin = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    shown: list[str] = []

    def progress(done: int, total: int, message: str) -> None:
        # one line per kind of step, not one per field
        if message and message.split(" ")[0] not in shown:
            shown.append(message.split(" ")[0])
            print(f"[{done * 100 // max(total, 1):3d}%] {message}", flush=True)

    print(_("Installing the %(preset)s preset with demo data ...") % {"preset": trade}, flush=True)
    try:
        installation = setup_demo(trade=trade, user=admin, progress=progress)
    except CardfileError as error:
        print(str(error), file=sys.stderr)
        return 2
    if installation is None:
        print(_("Already set up; the demo keeps its data."), flush=True)
    return 0


def _serve(options: argparse.Namespace) -> int:
    import django
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    call_command("collectstatic", interactive=False, verbosity=0)
    connections.close_all()

    # SQLite has one writer at a time: one process with threads; otherwise scale by process.
    embedded = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    workers = options.workers or (1 if embedded else 2)
    host = f"[{options.host}]" if ":" in options.host else options.host
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        WSGI_APPLICATION,
        "--bind",
        f"{host}:{options.port}",
        "--workers",
        str(workers),
        "--access-logfile",
        "-",
    ]
    if embedded:
        command += ["--threads", "4"]
    print(
        _("Serving Cardfile at http://%(host)s:%(port)s/ (Ctrl+C stops it)")
        % {"host": host, "port": options.port},
        flush=True,
    )
    sys.stderr.flush()
    # The web workers run the reminder scheduler when no Celery beat does (cardfile.core.wsgi).
    os.environ["CARDFILE_SCHEDULER"] = "1"
    # Replace this process, so signals from a terminal or a supervisor reach gunicorn directly.
    os.execv(sys.executable, command)  # noqa: S606 - fixed argv, no shell
    return 0  # pragma: no cover - execv does not return


if __name__ == "__main__":
    sys.exit(main())
