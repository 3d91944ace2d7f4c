"""Database models: the unit tree, counters, questionnaires, periods and responses."""

import enum
import secrets
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from . import clock
from .clock import UtcDateTime
from .extensions import db
from .textsearch import comment_key

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a real BIGINT.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def new_nonce() -> str:
    return secrets.token_urlsafe(12)


class Unit(db.Model):
    """A node of the administrative tree: province, Sở, commune, ward, sub-office."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    level: Mapped[str] = mapped_column(sa.String(20))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]
    # "T2-T6 07:30-17:00; T7 07:30-11:30" (survey.integrity.parse_hours); empty = the
    # parent unit's hours, and at the root the province default of the configuration.
    opening_hours: Mapped[str | None] = mapped_column(sa.String(200))

    parent: Mapped["Unit | None"] = relationship(
        remote_side=[id], back_populates="children"
    )
    children: Mapped[list["Unit"]] = relationship(back_populates="parent")
    counters: Mapped[list["Counter"]] = relationship(back_populates="unit")

    @property
    def is_active(self) -> bool:
        return self.valid_to is None or self.valid_to >= clock.today()


class Counter(db.Model):
    """A service point of a unit; its QR token is signed and can be rotated."""

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    # Part of the signed token: a new nonce revokes every printed poster of this counter.
    token_nonce: Mapped[str] = mapped_column(sa.String(24), default=new_nonce)
    token_rotated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The nonce before the last rotation, kept while that rotation can be undone.
    previous_nonce: Mapped[str | None] = mapped_column(sa.String(24))
    is_active: Mapped[bool] = mapped_column(default=True)

    unit: Mapped[Unit] = relationship(back_populates="counters")


class Questionnaire(db.Model):
    """A stored questionnaire version; its content never changes once it has responses."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    # Deferred: requests need only the hash to find the parsed definition in the cache.
    content: Mapped[str] = mapped_column(sa.Text, deferred=True)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    loaded_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)


class PeriodStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class Channel(enum.StrEnum):
    COUNTER = "counter"  # open QR code at the counter: self-selected feedback
    SAMPLE = "sample"  # single-use invitation drawn from the dossier register


class SurveyPeriod(db.Model):
    """A survey round with its questionnaire version, dates, channels and state."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    questionnaire_id: Mapped[int] = mapped_column(sa.ForeignKey("questionnaire.id"))
    channels: Mapped[str] = mapped_column(sa.String(40), default=Channel.COUNTER.value)
    status: Mapped[str] = mapped_column(sa.String(10), default=PeriodStatus.DRAFT.value)
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    questionnaire: Mapped[Questionnaire] = relationship()

    @property
    def channel_set(self) -> frozenset[str]:
        return frozenset(c for c in self.channels.split(",") if c)

    def is_open_on(self, day: date) -> bool:
        return (
            self.status == PeriodStatus.OPEN and self.starts_on <= day <= self.ends_on
        )


class SurveyResponse(db.Model):
    """One submitted questionnaire, answers included (one row per response)."""

    __tablename__ = "response"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    period_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_period.id"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"))
    counter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counter.id"))
    channel: Mapped[str] = mapped_column(sa.String(10))
    field: Mapped[str | None] = mapped_column(sa.String(40))
    # The nonce of the signed key handed out with the form: a retried or doubled
    # submission carries the same nonce and the unique constraint keeps one row.
    submission_key: Mapped[str] = mapped_column(sa.String(32), unique=True)
    form_served_at: Mapped[datetime] = mapped_column(UtcDateTime())
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    # Salted hashes only: never a raw IP address or user agent.
    network_hash: Mapped[str | None] = mapped_column(sa.String(32))
    device_hash: Mapped[str | None] = mapped_column(sa.String(32))
    # One digit per scale item, in the questionnaire version's item order (versions are
    # immutable, so positions never move): "4453…", 0 = no opinion. One row per response
    # keeps a submission to a single INSERT and decodes to an (n, items) array at once.
    answers: Mapped[str] = mapped_column(sa.String(128))
    extra: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(10), default="valid")
    status_reason: Mapped[str | None] = mapped_column(sa.String(300))
    status_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    status_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Codes of the integrity flags raised and not cleared by a review (e.g. "fast"),
    # kept in step with ResponseFlag by the flag pass and the review decisions.
    flags: Mapped[list] = mapped_column(sa.JSON, default=list)
    # Answered through "another dossier" on the already-answered page: a repeat the
    # citizen declared, from a device that had answered for this unit that day.
    declared_repeat: Mapped[bool] = mapped_column(
        default=False, server_default=sa.false()
    )
    # A sampled response: the invitation it answered. Unique, so one code gives one
    # response whatever the race (the database refuses the second insert).
    invitation_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("invitation.id"), unique=True
    )
    # The free-text comment folded for search (no case, no accents), None without one;
    # filled from the extra answers on insert, whichever way the row is inserted.
    comment_key: Mapped[str | None] = mapped_column(
        sa.Text,
        default=lambda context: comment_key(
            context.get_current_parameters().get("extra")
        ),
    )

    __table_args__ = (
        sa.Index("ix_response_period_unit", "period_id", "unit_id"),
        # The comments page: a unit's (or the province's) commented responses, newest
        # first, one short index range whatever the size of the period.
        sa.Index(
            "ix_response_comment_unit",
            "period_id",
            "unit_id",
            "id",
            # PostgreSQL answers searches and score filters from the index alone.
            postgresql_include=["comment_key", "answers"],
            postgresql_where=sa.text("comment_key IS NOT NULL"),
            sqlite_where=sa.text("comment_key IS NOT NULL"),
        ),
        sa.Index(
            "ix_response_comment",
            "period_id",
            "id",
            postgresql_include=["comment_key", "answers"],
            postgresql_where=sa.text("comment_key IS NOT NULL"),
            sqlite_where=sa.text("comment_key IS NOT NULL"),
        ),
        # With id, the day filter of the browser finds its id range from the index alone.
        sa.Index("ix_response_period_submitted", "period_id", "submitted_at", "id"),
        sa.Index("ix_response_period_id", "period_id", "id"),
        # The latest exclusion or restore of a period: part of its data version.
        sa.Index("ix_response_period_status_at", "period_id", "status_at"),
        # A period's excluded responses, a few in a million, found without reading
        # the others (a table of many periods is otherwise read whole to count them).
        sa.Index(
            "ix_response_period_not_valid",
            "period_id",
            "status",
            postgresql_where=sa.text("status <> 'valid'"),
            sqlite_where=sa.text("status <> 'valid'"),
        ),
    )


NO_OPINION = 0  # "không có ý kiến": stored as 0, excluded from every denominator


class Role(enum.StrEnum):
    ADMIN = "admin"  # the Sở Nội vụ: the whole province
    UNIT_HEAD = "unit_head"  # one unit and its subtree
    VIEWER = "viewer"  # read-only, the whole province


class User(db.Model):
    """A person of the workspace; passwords are stored as salted hashes only."""

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[str] = mapped_column(sa.String(20))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Every session carries the version it was opened under; logging out or changing
    # the password moves it on, so copies of older session cookies open nothing.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")

    unit: Mapped[Unit | None] = relationship()


class AuditEntry(db.Model):
    """One admin action: who, what, when, and the record before and after."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    target_type: Mapped[str | None] = mapped_column(sa.String(40))
    target_id: Mapped[str | None] = mapped_column(sa.String(60))
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    after: Mapped[dict | None] = mapped_column(sa.JSON)

    user: Mapped[User | None] = relationship()


class FileImport(db.Model):
    """One file imported (or refused) into the register or the unit tree."""

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # "register" or "units"
    status: Mapped[str] = mapped_column(sa.String(10))  # "done" or "refused"
    filename: Mapped[str] = mapped_column(sa.String(255))
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    encoding: Mapped[str | None] = mapped_column(sa.String(20))
    separator: Mapped[str | None] = mapped_column(sa.String(4))
    rows: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    problems: Mapped[int] = mapped_column(default=0)
    # Every problem of every row of a refused file, as gzipped CSV, for download.
    problem_report: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    by: Mapped[User | None] = relationship()


class Dossier(db.Model):
    """A dossier of the one-stop register: the sampling frame and the transaction volumes."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(60), unique=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"))
    field: Mapped[str] = mapped_column(sa.String(40))
    received_on: Mapped[date]
    returned_on: Mapped[date | None]
    is_late: Mapped[bool] = mapped_column(default=False)
    # Ids of FileImport rows, without a foreign key: a per-row check would cost a third
    # of a million-row upsert, and import records are never deleted.
    # The import that last created or changed this dossier (unchanged rows keep theirs):
    import_id: Mapped[int | None] = mapped_column(index=True)
    # The import in which its result was first returned: the moment a Poisson draw
    # gives this dossier its one chance to be sampled.
    returned_import_id: Mapped[int | None] = mapped_column(index=True)

    __table_args__ = (sa.Index("ix_dossier_unit_returned", "unit_id", "returned_on"),)


class PeriodTarget(db.Model):
    """How many responses a unit should collect in a period."""

    period_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_period.id"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), primary_key=True)
    target: Mapped[int]


class Publication(db.Model):
    """An immutable snapshot of a period's published results, with everything to recompute it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_period.id"), unique=True
    )
    published_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    questionnaire_code: Mapped[str] = mapped_column(sa.String(40))
    settings: Mapped[dict] = mapped_column(sa.JSON)
    # Ids of the responses used, so that later exclusions cannot change a published number:
    # a JSON list in publications made before 0101, else [] and `used_responses` holds
    # them as a compact id set (survey.idset). Deferred: public pages never load them.
    response_ids: Mapped[list] = mapped_column(sa.JSON, deferred=True)
    used_responses: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    results: Mapped[list] = mapped_column(sa.JSON)
    summary: Mapped[dict] = mapped_column(sa.JSON)
    content_hash: Mapped[str] = mapped_column(sa.String(64))

    period: Mapped[SurveyPeriod] = relationship()
    published_by: Mapped[User | None] = relationship()


class StoredResult(db.Model):
    """A period's results computed under one set of method settings, kept for the pages.

    ``data_version`` is the fingerprint of the data it was computed on
    (stored_results.data_version); a different current fingerprint means newer data
    exists. ``computing_since`` is the lock of a running computation.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_period.id"))
    settings_hash: Mapped[str] = mapped_column(sa.String(64))
    settings: Mapped[dict] = mapped_column(sa.JSON)
    data_version: Mapped[str | None] = mapped_column(sa.String(64))
    computed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    seconds: Mapped[float | None] = mapped_column(sa.Float)
    # gzip of the JSON tables (stored_results.pack): no pickle.
    content: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    computing_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error: Mapped[str | None] = mapped_column(sa.String(500))

    __table_args__ = (sa.UniqueConstraint("period_id", "settings_hash"),)


class FlagGroup(db.Model):
    """Flags that belong together (one phone on one day, one burst at one counter, ...).

    Rebuilt by each flag pass with a stable key, so that its id survives recomputation;
    `summary` holds the numbers the review queue states (count, times, answers, the
    baseline the group was compared with).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_period.id"))
    code: Mapped[str] = mapped_column(sa.String(20))
    key: Mapped[str] = mapped_column(sa.String(160))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"))
    counter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counter.id"))
    size: Mapped[int]
    first_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_at: Mapped[datetime] = mapped_column(UtcDateTime())
    summary: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    __table_args__ = (sa.UniqueConstraint("period_id", "code", "key"),)


class ResponseFlag(db.Model):
    """One flag on one response, in one group; `decision` is null until reviewed."""

    response_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("response.id"), primary_key=True
    )
    code: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    period_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_period.id"))
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("flag_group.id"))
    # Set by a review: the decision that excluded or cleared this flag.
    decision_id: Mapped[int | None] = mapped_column(sa.ForeignKey("flag_decision.id"))

    __table_args__ = (
        sa.Index("ix_response_flag_group", "group_id"),
        sa.Index("ix_response_flag_period_code", "period_id", "code"),
    )


class FlagDecision(db.Model):
    """An analyst's decision on a whole group: exclude or clear, with a reason.

    Reversible until the period is published: undoing restores exactly the statuses
    this decision changed (`changed_ids`).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_period.id"))
    group_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("flag_group.id", ondelete="SET NULL")
    )
    code: Mapped[str] = mapped_column(sa.String(20))
    action: Mapped[str] = mapped_column(sa.String(10))  # "exclude" or "clear"
    reason: Mapped[str] = mapped_column(sa.String(300))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    response_ids: Mapped[list] = mapped_column(sa.JSON)
    changed_ids: Mapped[list] = mapped_column(sa.JSON)
    undone_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    undone_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class FlagPass(db.Model):
    """When a period's flags were last computed, and on what data (to know staleness)."""

    period_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_period.id"), primary_key=True
    )
    ran_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    data_version: Mapped[str] = mapped_column(sa.String(64))
    counts: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class PlanStatus(enum.StrEnum):
    SUBMITTED = "submitted"  # written by the unit, with the Sở Nội vụ
    RETURNED = "returned"  # sent back by the Sở Nội vụ with a comment, to revise


class PlanState(enum.StrEnum):
    """Where a plan stands, as the province's table shows it (derived, never stored)."""

    NONE = "none"  # no plan yet
    IN_PROGRESS = "in_progress"
    OVERDUE = "overdue"  # an action not done after its deadline (Vietnam date)
    RETURNED = "returned"
    DONE = "done"  # every action done


class ImprovementPlan(db.Model):
    """A unit's improvement plan (kế hoạch khắc phục), opened from a published period."""

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    # The published period whose results the plan answers (its baseline).
    period_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_period.id"))
    status: Mapped[str] = mapped_column(
        sa.String(12), default=PlanStatus.SUBMITTED.value
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    # The next published period, on which every target was measured (or why not).
    evaluated_period_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("survey_period.id")
    )
    evaluated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    evaluation_note: Mapped[str | None] = mapped_column(sa.String(400))

    unit: Mapped[Unit] = relationship()
    period: Mapped[SurveyPeriod] = relationship(foreign_keys=[period_id])
    evaluated_period: Mapped[SurveyPeriod | None] = relationship(
        foreign_keys=[evaluated_period_id]
    )
    created_by: Mapped[User | None] = relationship()
    items: Mapped[list["PlanItem"]] = relationship(
        back_populates="plan", order_by="PlanItem.id", cascade="all, delete-orphan"
    )
    comments: Mapped[list["PlanComment"]] = relationship(
        back_populates="plan", order_by="PlanComment.id"
    )

    __table_args__ = (sa.UniqueConstraint("unit_id", "period_id"),)

    @property
    def state(self) -> PlanState:
        if self.status == PlanStatus.RETURNED:
            return PlanState.RETURNED
        if self.items and all(item.done_on for item in self.items):
            return PlanState.DONE
        if any(item.is_overdue for item in self.items):
            return PlanState.OVERDUE
        return PlanState.IN_PROGRESS


class PlanItem(db.Model):
    """One criterion of a plan: causes, actions, who, by when, and the target."""

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        sa.ForeignKey("improvement_plan.id"), index=True
    )
    criterion: Mapped[str] = mapped_column(sa.String(16))
    cause: Mapped[str] = mapped_column(sa.Text)
    actions: Mapped[str] = mapped_column(sa.Text)
    responsible: Mapped[str] = mapped_column(sa.String(200))
    deadline: Mapped[date]
    baseline: Mapped[float]  # the published index of the criterion, %
    target: Mapped[float]  # %
    done_on: Mapped[date | None]
    # Measured on the next publication (analysis.targets.EFFECT_COLUMNS).
    effect: Mapped[dict | None] = mapped_column(sa.JSON)

    plan: Mapped[ImprovementPlan] = relationship(back_populates="items")

    @property
    def is_overdue(self) -> bool:
        return self.done_on is None and self.deadline < clock.today()


class PlanComment(db.Model):
    """A remark on a plan by the Sở Nội vụ or the unit; a return carries its reason."""

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        sa.ForeignKey("improvement_plan.id"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    kind: Mapped[str] = mapped_column(sa.String(12), default="comment")  # or "return"
    text: Mapped[str] = mapped_column(sa.Text)

    plan: Mapped[ImprovementPlan] = relationship(back_populates="comments")
    user: Mapped[User | None] = relationship()


class SampleDesign(enum.StrEnum):
    SRSWOR = "srswor"  # fixed size per stratum, without replacement: a closed register
    POISSON = "poisson"  # a rate per stratum: each dossier drawn as its import arrives


class SamplePlan(db.Model):
    """A period's probability sample: its design, the planner's inputs and, once drawn,
    the seed that together with the register fixes every drawn dossier."""

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_period.id"), unique=True
    )
    design: Mapped[str] = mapped_column(sa.String(10))
    moe: Mapped[float]  # target margin of error of a unit, in points
    level: Mapped[float]
    share: Mapped[float]  # expected % satisfied
    deff: Mapped[float]
    response_rate: Mapped[float]  # expected, in percent
    min_per_field: Mapped[int] = mapped_column(default=0)
    seed: Mapped[str | None] = mapped_column(sa.String(32))
    drawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)

    strata: Mapped[list["SampleStratum"]] = relationship(
        back_populates="plan", cascade="all, delete-orphan"
    )


class SampleStratum(db.Model):
    """One stratum (unit × field) of a plan: respondents needed and dossiers to draw."""

    plan_id: Mapped[int] = mapped_column(
        sa.ForeignKey("sample_plan.id"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), primary_key=True)
    field: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    # Dossiers expected in the period (the plan's population) ...
    expected: Mapped[int]
    # The unit's inputs: design effect and response rate (last period's or the plan's),
    # and respondents needed for its margin of error (before any per-field minimum).
    deff: Mapped[float]
    response_rate: Mapped[float]
    unit_needed: Mapped[int]
    needed: Mapped[int]  # respondents planned in this stratum
    draw_size: Mapped[
        int
    ]  # dossiers to draw (SRSWOR) or expected to be drawn (Poisson)
    rate: Mapped[float]  # Poisson: the inclusion probability of every dossier
    # ... and dossiers of the frame that went through the draw: the fpc's population.
    frame_size: Mapped[int] = mapped_column(default=0)

    plan: Mapped[SamplePlan] = relationship(back_populates="strata")


class InvitationBatch(db.Model):
    """The invitations of one unit from one draw: printed, sent and delivered together."""

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_period.id"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    delivered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    unit: Mapped[Unit] = relationship()

    __table_args__ = (sa.Index("ix_invitation_batch_period", "period_id", "unit_id"),)


class Invitation(db.Model):
    """A drawn dossier and its single-use code; nothing personal, not even a phone."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    period_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_period.id"))
    dossier_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("dossier.id"))
    batch_id: Mapped[int] = mapped_column(
        sa.ForeignKey("invitation_batch.id"), index=True
    )
    # The stratum at the time of the draw, and the probability it was drawn with.
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"))
    field: Mapped[str] = mapped_column(sa.String(40))
    inclusion_probability: Mapped[float]
    # Crockford base 32 with a check character, stored upper case without dashes.
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    expires_on: Mapped[date]

    __table_args__ = (
        # A dossier is drawn at most once in a period.
        sa.UniqueConstraint("period_id", "dossier_id"),
        sa.Index("ix_invitation_period_unit", "period_id", "unit_id", "field"),
    )
