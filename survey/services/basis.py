"""On which basis the workspace computes a period: as published, or recomputed.

A published period opens on its publication's settings and responses, so the workspace
shows the published numbers; any other choice is a recomputation that differs from the
publication and is labelled so. (A comparison with the previous period uses that
period's publication, as the public trend does: `indices.versus_previous`.)
"""

from dataclasses import dataclass, replace

from ..models import Publication, SurveyPeriod
from . import stored_results
from .indices import Settings
from .publications import publication_of


@dataclass(frozen=True)
class Basis:
    """The settings a page computes with, and whether they are the published ones."""

    settings: Settings
    publication: Publication | None = None
    as_published: bool = False


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
        return Basis(published, publication, as_published=True)
    return Basis(chosen, publication)


def stored_on(period: SurveyPeriod, basis: Basis) -> stored_results.Lookup:
    """The stored results of a period on a basis (as published: the published numbers).

    Computed once and kept (stored_results); a large period is computed in the
    background while the page says so.
    """
    publication = basis.publication if basis.as_published else None
    return stored_results.for_page(period, basis.settings, publication)


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
