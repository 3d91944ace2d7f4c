"""Questionnaire versions: load files into the database, freeze versions with responses."""

from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from analysis.questionnaire import Questionnaire as Definition
from analysis.questionnaire import (
    content_hash,
    english_path,
    is_english_file,
    load_file,
    parse_questionnaire,
    with_english,
)

from ..errors import Conflict
from ..extensions import db
from ..models import Questionnaire, SurveyPeriod, SurveyResponse


class QuestionnaireFrozen(Conflict):
    """A questionnaire version with responses was edited; it needs a new version code."""


def sync_questionnaires(directory: str | None = None) -> list[str]:
    """Store every questionnaire file as a version; return the codes added or updated.

    :raise QuestionnaireFrozen: if a file changes a version that already has responses.
    :raise QuestionnaireError: if a file is not a valid questionnaire.
    """
    changed = []
    folder = Path(directory or current_app.config["QUESTIONNAIRE_DIR"])
    for path in sorted(folder.glob("*.toml")):
        if is_english_file(path):
            continue  # wording only, read at load time (definition_of)
        definition, text = load_file(path)
        digest = content_hash(text)
        stored = db.session.scalar(
            sa.select(Questionnaire).filter_by(code=definition.code)
        )
        if stored is None:
            db.session.add(
                Questionnaire(
                    code=definition.code,
                    title=definition.title,
                    content=text,
                    content_hash=digest,
                )
            )
        elif stored.content_hash != digest:
            if has_responses(stored):
                db.session.rollback()
                raise QuestionnaireFrozen(
                    _(
                        "%(name)s: phiên bản %(code)s đã có phiếu trả lời nên không "
                        "sửa được; lưu thay đổi dưới một mã mới (một tệp mới).",
                        name=path.name,
                        code=definition.code,
                    )
                )
            stored.title, stored.content, stored.content_hash = (
                definition.title,
                text,
                digest,
            )
        else:
            continue
        changed.append(definition.code)
    db.session.commit()
    return changed


def has_responses(questionnaire: Questionnaire) -> bool:
    query = (
        sa.select(SurveyResponse.id)
        .join(SurveyPeriod, SurveyResponse.period_id == SurveyPeriod.id)
        .where(SurveyPeriod.questionnaire_id == questionnaire.id)
        .limit(1)
    )
    return db.session.scalar(query) is not None


_definitions: dict[str, Definition] = {}


def definition_of(questionnaire) -> Definition:
    """Return the parsed definition of a stored version, cached by its content hash.

    Takes a Questionnaire or any object with its id, code and content_hash; the content
    is read only when the cache has not seen this hash. The English rendering comes
    from ``<code>.en.toml`` in the questionnaire folder, outside the stored content
    (a version with responses is frozen; its English can still be given or improved).
    """
    definition = _definitions.get(questionnaire.content_hash)
    if definition is None:
        content = db.session.scalar(
            sa.select(Questionnaire.content).where(Questionnaire.id == questionnaire.id)
        )
        definition = with_english(
            parse_questionnaire(content, questionnaire.code),
            english_path(current_app.config["QUESTIONNAIRE_DIR"], questionnaire.code),
        )
        _definitions[questionnaire.content_hash] = definition
    return definition


def get_questionnaire(code: str) -> Questionnaire | None:
    return db.session.scalar(sa.select(Questionnaire).filter_by(code=code))
