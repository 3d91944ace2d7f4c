"""Commands: `flask --app wsgi <command>`; every one calls a service."""

import functools
from pathlib import Path

import click
from flask import Flask, current_app, render_template, url_for
from flask.cli import with_appcontext
from markupsafe import Markup

from analysis import CI_METHODS
from analysis.questionnaire import QuestionnaireError

from . import clock
from .errors import ServiceError
from .extensions import db
from .models import Counter, Role, SurveyPeriod
from .services import (
    accounts,
    demo,
    flagging,
    imports,
    indices,
    invitations,
    periods,
    publications,
    register,
    sampling,
    stored_results,
    units,
)
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


ENCODING = click.option(
    "--encoding",
    type=click.Choice(["utf-8", "cp1258"]),
    help="Encoding of a CSV file (default: UTF-8, or Windows-1258 when it reads so).",
)
REPORT = click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every problem of a refused file to this CSV.",
)


def run_import(importer, path: Path, encoding: str | None, report_path: Path | None):
    """Import a file with a service; print the outcome or every problem (exit code 1)."""
    with path.open("rb") as stream:
        try:
            report = importer(stream, filename=path.name, encoding=encoding)
        except imports.ImportRejected as exc:
            if report_path and exc.report.import_id:
                with report_path.open("wb") as out:
                    for chunk in imports.problem_report(exc.report.import_id):
                        out.write(chunk)
            raise
    click.echo(f"import {report.import_id}: {report.summary()}")


@click.command("import-units")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@ENCODING
@REPORT
@fail_on_service_error
def import_units_command(path: Path, encoding, report_path):
    """Import the unit tree from CSV or XLSX: code,name,level,parent_code."""
    run_import(units.import_units, path, encoding, report_path)


@click.command("import-register")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@ENCODING
@REPORT
@fail_on_service_error
def import_register_command(path: Path, encoding, report_path):
    """Import dossiers from the one-stop register's CSV or XLSX export."""
    run_import(register.import_register, path, encoding, report_path)


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
    codes = invitations.open_codes(period, 3)
    if codes:
        click.echo(
            "\nSampled channel: answer a drawn dossier's invitation at "
            f"{base_url}/i with one of these codes (each works once):"
        )
        for code in codes:
            click.echo(f"    {code}   ({base_url}/i/{code.replace('-', '')})")


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
    found = publications.verify(publication)
    if not found:
        shown = found.differences[:20]
        more = len(found.differences) - len(shown)
        raise click.ClickException(
            "The recomputed results differ from the publication:\n  "
            + "\n  ".join(shown)
            + (f"\n  ... and {more} more" if more > 0 else "")
        )
    click.echo(
        f"ok: {found.checked} numbers reproduced within "
        f"{publications.VERIFY_TOLERANCE:g}, hash {publication.content_hash}"
    )


@click.command("flag-responses")
@click.argument("period_id", type=int, required=False)
@click.option(
    "--all-open",
    is_flag=True,
    help="Every open or unpublished closed period (for a schedule, e.g. cron).",
)
@click.option(
    "--if-stale", is_flag=True, help="Skip periods whose data did not change."
)
@fail_on_service_error
def flag_responses_command(period_id: int | None, all_open: bool, if_stale: bool):
    """Recompute every integrity flag of a period (idempotent)."""
    if period_id is None and not all_open:
        raise click.UsageError("Give a PERIOD_ID or --all-open.")
    if all_open:
        targets = flagging.periods_to_flag()
    else:
        period = db.session.get(SurveyPeriod, period_id)
        if period is None:
            raise click.ClickException(f"No period {period_id}.")
        targets = [period]
    for period in targets:
        report = (
            flagging.ensure_fresh(period) if if_stale else flagging.flag_period(period)
        )
        click.echo(report.summary() if report else f"period {period.id}: up to date")


@click.command("refresh-results")
@click.argument("period_id", type=int, required=False)
@click.option(
    "--all-open",
    is_flag=True,
    help="Every open or unpublished closed period (for a schedule, e.g. cron).",
)
@fail_on_service_error
def refresh_results_command(period_id: int | None, all_open: bool):
    """Recompute the stored results that newer data made stale (flag pass first)."""
    if period_id is None and not all_open:
        raise click.UsageError("Give a PERIOD_ID or --all-open.")
    targets = flagging.periods_to_flag() if all_open else [get_period(period_id)]
    for period in targets:
        done = stored_results.refresh_stale(period)
        click.echo(f"period {period.id}: {done} stored result(s) recomputed")


def get_period(period_id: int) -> SurveyPeriod:
    period = db.session.get(SurveyPeriod, period_id)
    if period is None:
        raise click.ClickException(f"No period {period_id}.")
    return period


def read_csv_rows(path: Path, columns: tuple[str, ...]) -> list[dict]:
    import csv

    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(columns) - set(reader.fieldnames or ())
        if missing:
            raise click.ClickException(
                f"{path.name}: missing column(s) {', '.join(sorted(missing))}."
            )
        return list(reader)


def unit_ids_of(rows: list[dict], path: Path) -> dict[str, int]:
    codes = {r["unit_code"].strip() for r in rows}
    found = {code: units.get_unit(code) for code in codes}
    unknown = sorted(c for c, u in found.items() if u is None)
    if unknown:
        raise click.ClickException(
            f"{path.name}: unknown unit(s) {', '.join(unknown)}."
        )
    return {code: unit.id for code, unit in found.items()}


@click.command("sample-plan")
@click.argument("period_id", type=int)
@click.option(
    "--design", type=click.Choice(sampling.DESIGNS), default="srswor", show_default=True
)
@click.option("--moe", type=float, default=5.0, show_default=True, help="Points.")
@click.option("--level", type=float, default=0.95, show_default=True)
@click.option("--share", type=float, default=50.0, show_default=True, help="Percent.")
@click.option(
    "--deff", type=float, default=1.5, show_default=True, help="Without last period's."
)
@click.option(
    "--response-rate",
    type=float,
    default=50.0,
    show_default=True,
    help="Percent, without last period's.",
)
@click.option("--min-per-field", type=int, default=0, show_default=True)
@click.option(
    "--units",
    "units_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV unit_code,needed: respondents per unit instead of the proposal's.",
)
@click.option(
    "--strata",
    "strata_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV unit_code,field,draw: dossiers to draw in single strata.",
)
@click.option("--save", is_flag=True, help="Save the plan (otherwise only print it).")
@click.option(
    "--out", type=click.Path(dir_okay=False), help="CSV file (default: stdout)."
)
@fail_on_service_error
def sample_plan_command(period_id, units_file, strata_file, save, out, **inputs):
    """Propose a sample plan per stratum (unit × field); --save keeps it."""
    period = get_period(period_id)
    settings = sampling.PlanSettings(**inputs)
    needed, draws = None, None
    if units_file:
        rows = read_csv_rows(units_file, ("unit_code", "needed"))
        ids = unit_ids_of(rows, units_file)
        needed = {ids[r["unit_code"].strip()]: int(r["needed"]) for r in rows}
    if strata_file:
        rows = read_csv_rows(strata_file, ("unit_code", "field", "draw"))
        ids = unit_ids_of(rows, strata_file)
        draws = {
            (ids[r["unit_code"].strip()], r["field"].strip()): int(r["draw"])
            for r in rows
        }
    if save:
        plan = sampling.save_plan(period, settings, needed, draws)
        table = sampling.plan_table(plan)
    else:
        table = sampling.propose(period, settings, needed)
    text = table.drop(columns=["unit_id"]).to_csv(index=False)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"{len(table)} strata written to {out}")
    else:
        click.echo(text, nl=False)
    click.echo(
        f"{'saved' if save else 'proposed'}: {int(table['needed'].sum())} respondents, "
        f"{int(table['draw'].sum())} dossiers to draw in {len(table)} strata",
        err=True,
    )


@click.command("sample-draw")
@click.argument("period_id", type=int)
@fail_on_service_error
def sample_draw_command(period_id: int):
    """Draw a period's sample from the register as planned (once)."""
    report = sampling.draw(get_period(period_id))
    click.echo(
        f"drawn {report.drawn} of {report.frame} dossiers in {report.batches} "
        f"batch(es); {report.outside_plan} dossiers had no chance (no planned draw)"
    )


@click.command("sample-verify")
@click.argument("period_id", type=int)
@fail_on_service_error
def sample_verify_command(period_id: int):
    """Repeat a draw from its seed and the register; exit 1 if the dossiers differ."""
    check = sampling.verify_draw(get_period(period_id))
    if not check.same:
        raise click.ClickException(
            f"{len(check.missing)} stored dossier(s) not drawn again "
            f"({', '.join(check.missing[:5])}), {len(check.extra)} drawn again but not "
            f"stored ({', '.join(check.extra[:5])})."
        )
    click.echo(f"ok: the same {check.stored} dossiers")


@click.command("invitations")
@click.argument("period_id", type=int)
@click.option("--batch", "batch_id", type=int, help="One batch (default: all).")
@click.option(
    "--links",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write dossier_code,invitation_code,link,expires_on,unit as CSV.",
)
@click.option(
    "--slips",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the printable A4 slips of --batch as one HTML file.",
)
@click.option(
    "--delivered", is_flag=True, help="Mark --batch (or every batch) as delivered."
)
@click.option("--base-url", default="http://localhost:5000", show_default=True)
@fail_on_service_error
def invitations_command(period_id, batch_id, links, slips, delivered, base_url):
    """List a period's invitation batches; export links or slips; mark delivered."""
    period = get_period(period_id)
    if batch_id is not None:
        invitations.batch_of(period, batch_id)
    base = (current_app.config["PUBLIC_BASE_URL"] or base_url).rstrip("/")
    with current_app.test_request_context():
        if links:
            lines = invitations.links_csv(
                invitations.slips(period, batch_id),
                lambda code: base + url_for("invite.respond", code=code),
            )
            links.write_text("".join(lines), encoding="utf-8")
            click.echo(f"links written to {links}")
        if slips:
            if batch_id is None:
                raise click.ClickException("Slips are printed batch by batch: --batch.")
            slips.write_text(render_slips(period, batch_id, base), encoding="utf-8")
            click.echo(f"slips written to {slips}")
    if delivered:
        ids = [batch_id] if batch_id else [b.id for b in invitations.batch_rows(period)]
        click.echo(f"{invitations.mark_delivered(period, ids)} batch(es) marked")
    for b in invitations.batch_rows(period):
        state = (
            f"delivered {clock.local(b.delivered_at):%Y-%m-%d}"
            if b.delivered_at
            else "not sent"
        )
        click.echo(
            f"batch {b.id}: {b.unit}, {b.invitations} invitations, "
            f"{b.answered} answered, {state}"
        )


def render_slips(period: SurveyPeriod, batch_id: int, base: str) -> str:
    """The slips page as one self-contained file (the stylesheet inlined)."""
    from .admin.counters import inline_svg

    batch = invitations.batch_of(period, batch_id)
    slips = [
        (slip, url, inline_svg(url))
        for slip in invitations.slips(period, batch_id)
        for url in [base + url_for("invite.respond", code=slip.code)]
    ]
    css = Path(current_app.static_folder, "css", "print.css").read_text("utf-8")
    entry = base.split("://", 1)[-1] + url_for("invite.enter")
    return render_template(
        "print/slips.html",
        period=period,
        batch=batch,
        slips=slips,
        entry=entry,
        inline_css=Markup(css),  # our own stylesheet, not user input
    )


COMMANDS = (
    refresh_results_command,
    flag_responses_command,
    sample_plan_command,
    sample_draw_command,
    sample_verify_command,
    invitations_command,
    create_user_command,
    recompute_command,
    verify_publication_command,
    sync_questionnaires_command,
    import_units_command,
    import_register_command,
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
