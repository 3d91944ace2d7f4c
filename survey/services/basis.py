"""On which basis the workspace computes a period: as published, or recomputed.

A published period opens on its publication's settings and responses, so the workspace
shows the published numbers; any other choice is a recomputation that differs from the
publication and is labelled so. A comparison with the previous period uses that
period's publication, as the public trend does.
"""

from dataclasses import dataclass, replace

import pandas as pd

from analysis.compare import compare_periods

from ..errors import ServiceError
from ..models import Publication, SurveyPeriod
from .indices import (
    NO_COMPARISON,
    PreviousComparison,
    Results,
    Settings,
    compute,
    incomparable,
    previous_period,
)
from .publications import publication_of


@dataclass(frozen=True)
class Basis:
    """The settings a page computes with, and whether they are the published ones."""

    settings: Settings
    publication: Publication | None = None
    response_ids: list[int] | None = None

    @property
    def as_published(self) -> bool:
        return self.response_ids is not None


def published_settings(publication: Publication) -> Settings:
    return Settings.from_dict(publication.settings)


def same_method(chosen: Settings, published: Settings) -> bool:
    """True if a choice asks for the published computation ("auto" meets any channel)."""
    if chosen.channel == "auto":
        chosen = replace(chosen, channel=published.channel)
    return chosen == published


def basis_for(period: SurveyPeriod, chosen: Settings | None) -> Basis:
    """The publication's basis when nothing else is chosen (or the choice is the same)."""
    publication = publication_of(period)
    if publication is None:
        return Basis(chosen or Settings())
    published = published_settings(publication)
    if chosen is None or same_method(chosen, published):
        return Basis(published, publication, list(publication.response_ids))
    return Basis(chosen, publication)


def compute_on(period: SurveyPeriod, basis: Basis) -> Results:
    """Compute a period on a basis: as published, exactly the published numbers."""
    return compute(period, basis.settings, basis.response_ids)


def settings_as_form(settings: Settings) -> dict[str, str | list[str]]:
    """The values of the settings form that ask for these settings."""
    return {
        "weighting": settings.weighting,
        "ci": settings.ci,
        "level": str(settings.level),
        "trim": "" if settings.trim is None else str(settings.trim),
        "channel": settings.channel,
        "nonresponse": settings.nonresponse,
        "reference": settings.reference,
        "adjustment": settings.adjustment,
        "pool_periods": str(settings.pool_periods),
        "exclude_flags": list(settings.exclude_flags),
        "margin_text": list(settings.margins),
    }


def versus_published_previous(results: Results) -> PreviousComparison:
    """Every unit and indicator against the previous period as that period published it.

    An unpublished previous period is computed under the same settings as this one.
    A previous period of another questionnaire version is refused with the reason.
    """
    earlier = previous_period(results.period)
    empty = pd.DataFrame(columns=NO_COMPARISON)
    if earlier is None:
        return PreviousComparison(None, empty)
    refusal = incomparable(results.period, earlier)
    if refusal:
        return PreviousComparison(earlier, empty, refusal)
    publication = publication_of(earlier)
    try:
        if publication is None:
            before = compute(earlier, results.settings)
        else:
            before = compute(
                earlier,
                published_settings(publication),
                list(publication.response_ids),
            )
    except ServiceError as exc:
        return PreviousComparison(earlier, empty, str(exc))
    table = compare_periods(results.table, before.table).assign(previous=earlier.name)
    return PreviousComparison(earlier, table)
