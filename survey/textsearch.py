"""Text folded for search: no case, no Vietnamese accents, single spaces.

"Cán bộ NHIỆT TÌNH" and "can bo nhiet tinh" fold to the same key, so a search typed
without diacritics (as on many phones) finds comments written with them. The same
function folds the stored comment and the query; a LIKE on the folded column works on
SQLite and PostgreSQL alike.
"""

import re
import unicodedata

SPACES = re.compile(r"\s+")
COMMENT = "suggestion"  # the free-text question of every questionnaire version


def fold(text: str) -> str:
    """Return text without case and diacritics (đ counts as d), spaces collapsed."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return SPACES.sub(" ", bare.replace("đ", "d")).strip()


def comment_key(extra: dict | None) -> str | None:
    """Return the folded comment of a response's extra answers, None without one."""
    text = (extra or {}).get(COMMENT)
    if not isinstance(text, str):
        return None
    key = fold(text)
    return key or None
