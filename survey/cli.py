"""Commands: `flask --app wsgi <command>`; every one calls a service."""

import functools
from pathlib import Path

import click
from flask import Flask, current_app, url_for
from flask.cli import with_appcontext

from analysis import CI_METHODS
from analysis.questionnaire import QuestionnaireError

from .errors import ServiceError
from .extensions import db
from .models import Counter, Role, SurveyPeriod
from .services import accounts, demo, indices, periods, publications, units
from .services.questionnaires import get_questionnaire, sync_questionnaires


def fail_on_service_error(func):
    """Run in the app context; print a service's refusal as a clean error (exit code 1)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (ServiceError, QuestionnaireError) as exc:
            raise click.ClickException(str(exc)) from None

    return with_appcontext(wrapper)


@click.command("sync-questionnaires")
@fail_on_service_error
def sync_questionnaires_command():
    """Load questionnaires/*.toml as versions (refuses to change one with responses)."""
    changed = sync_questionnaires()
    click.echo(
        f"{len(changed)} version(s) added or updated: {', '.join(changed) or '-'}"
    )


@click.command("import-units")
@click.argument(
    "csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@fail_on_service_error
def import_units_command(csv_file: Path):
    """Import the unit tree from CSV: code,name,level,parent_code."""
    click.echo(units.import_units(csv_file.read_text(encoding="utf-8")).summary())


@click.command("add-counter")
@click.argument("unit_code")
@click.argument("name")
@fail_on_service_error
def add_counter_command(unit_code: str, name: str):
    """Add a counter to a unit and print its survey URL."""
    unit = units.get_unit(unit_code)
    if unit is None:
        raise click.ClickException(f"No unit with code {unit_code}.")
    counter = units.create_counter(unit, name)
    click.echo(f"counter {counter.id}: {survey_url(counter)}")


@click.command("rotate-token")
@click.argument("counter_id", type=int)
@fail_on_service_error
def rotate_token_command(counter_id: int):
    """Give a counter a new QR token; its old posters stop working."""
    counter = db.session.get(Counter, counter_id)
    if counter is None:
        raise click.ClickException(f"No counter {counter_id}.")
    units.rotate_counter_token(counter)
    click.echo(f"counter {counter.id}: {survey_url(counter)}")


@click.command("create-period")
@click.argument("name")
@click.argument("starts_on", type=click.DateTime(["%Y-%m-%d"]))
@click.argument("ends_on", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--questionnaire", "code", default="sipas-2640", show_default=True)
@click.option(
    "--channel",
    "channels",
    multiple=True,
    default=["counter"],
    show_default=True,
    type=click.Choice(["counter", "sample"]),
)
@click.option("--open", "open_now", is_flag=True, help="Open it at once.")
@fail_on_service_error
def create_period_command(name, starts_on, ends_on, code, channels, open_now):
    """Create a survey period (dates as YYYY-MM-DD)."""
    questionnaire = get_questionnaire(code)
    if questionnaire is None:
        raise click.ClickException(
            f"No questionnaire version {code}; run sync-questionnaires."
        )
    period = periods.create_period(
        name, starts_on.date(), ends_on.date(), questionnaire, tuple(channels)
    )
    if open_now:
        periods.open_period(period)
    click.echo(f"period {period.id}: {period.name} ({period.status})")


@click.command("set-period")
@click.argument("period_id", type=int)
@click.argument("action", type=click.Choice(["open", "close"]))
@fail_on_service_error
def set_period_command(period_id: int, action: str):
    """Open or close a period."""
    period = db.session.get(SurveyPeriod, period_id)
    if period is None:
        raise click.ClickException(f"No period {period_id}.")
    (periods.open_period if action == "open" else periods.close_period)(period)
    click.echo(f"period {period.id}: {period.status}")


@click.command("seed-demo")
@click.option("--responses", default=400, show_default=True)
@click.option("--base-url", default="http://localhost:5000", show_default=True)
@fail_on_service_error
def seed_demo_command(responses: int, base_url: str):
    """Create the demo province (once) and print its poster URLs."""
    period = demo.seed_demo(responses)
    click.echo(f"Demo period: {period.name}, status {period.status}")
    list_counters(base_url)
    click.echo(
        f"\nWorkspace: {base_url}/admin/  (demo accounts, never use in production)"
    )
    for username, password, role, unit in demo.DEMO_USERS:
        click.echo(
            f"    {username} / {password}  ({role}{', ' + unit if unit else ''})"
        )
    click.echo(f"Published results: {base_url}/results/")


@click.command("counters")
@click.option("--base-url", default="http://localhost:5000", show_default=True)
@fail_on_service_error
def counters_command(base_url: str):
    """List counters with their poster and survey URLs."""
    list_counters(base_url)


def list_counters(base_url: str) -> None:
    with current_app.test_request_context(base_url=base_url):
        for counter in units.counters_with_units():
            poster = url_for(
                "admin.counter_poster", counter_id=counter.id, _external=True
            )
            click.echo(
                f"{counter.unit.name} · {counter.name}\n"
                f"    poster: {poster}\n    survey: {survey_url(counter, base_url)}"
            )


def survey_url(counter, base_url: str = "http://localhost:5000") -> str:
    with current_app.test_request_context(base_url=base_url):
        return url_for(
            "public.respond", token=units.counter_token(counter), _external=True
        )


@click.command("create-user")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default="admin",
    show_default=True,
)
@click.option("--unit", "unit_code", help="Unit code, for a unit head.")
@click.password_option()
@fail_on_service_error
def create_user_command(username: str, role: str, unit_code: str | None, password: str):
    """Create an account (the first admin, or a unit head with --unit)."""
    unit = units.get_unit(unit_code) if unit_code else None
    if unit_code and unit is None:
        raise click.ClickException(f"No unit with code {unit_code}.")
    user = accounts.create_user(username, password, role, unit)
    click.echo(f"user {user.username} ({user.role}) created")


@click.command("recompute")
@click.argument("period_id", type=int)
@click.option(
    "--weighting",
    type=click.Choice(indices.WEIGHTINGS),
    default="none",
    show_default=True,
)
@click.option(
    "--ci",
    type=click.Choice(sorted(CI_METHODS)),
    default="korn-graubard",
    show_default=True,
)
@click.option("--level", type=float, default=0.95, show_default=True)
@click.option(
    "--trim", type=float, help="Upper weight bound, as a multiple of the mean weight."
)
@click.option(
    "--rake",
    "margins",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Margin CSV (columns + population); repeat for each margin.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False), help="CSV file (default: stdout)."
)
@fail_on_service_error
def recompute_command(period_id, weighting, ci, level, trim, margins, out):
    """Compute a period's indices under chosen settings (the same service as the UI)."""
    period = db.session.get(SurveyPeriod, period_id)
    if period is None:
        raise click.ClickException(f"No period {period_id}.")
    settings = indices.Settings(
        weighting=weighting,
        ci=ci,
        level=level,
        trim=trim,
        margins=tuple(Path(m).read_text(encoding="utf-8-sig") for m in margins),
    )
    table = indices.compute(period, settings).table
    text = table.to_csv(index=False)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"{len(table)} rows written to {out}")
    else:
        click.echo(text, nl=False)


@click.command("verify-publication")
@click.argument("period_id", type=int)
@fail_on_service_error
def verify_publication_command(period_id: int):
    """Recompute a publication from stored data; exit 1 if any number differs."""
    period = db.session.get(SurveyPeriod, period_id)
    publication = publications.publication_of(period) if period else None
    if publication is None:
        raise click.ClickException(f"Period {period_id} has no publication.")
    if not publications.verify(publication):
        raise click.ClickException(
            "The recomputed results differ from the publication."
        )
    click.echo(
        f"ok: {len(publication.results)} numbers reproduced, hash {publication.content_hash}"
    )


COMMANDS = (
    create_user_command,
    recompute_command,
    verify_publication_command,
    sync_questionnaires_command,
    import_units_command,
    add_counter_command,
    rotate_token_command,
    create_period_command,
    set_period_command,
    seed_demo_command,
    counters_command,
)


def init_app(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
