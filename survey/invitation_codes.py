"""Invitation codes: short, random, easy to read aloud and type, with a check character.

A code is ten random characters of Crockford's base 32 (digits and letters without
I, L, O and U, so nothing looks alike) and one check character (Luhn mod 32), shown
as ``7K3M-QP9X-4TZ``. Typing is forgiving: case, spaces and dashes are ignored, and
O/I/L are read as 0/1/1. A single mistyped character, and two swapped neighbours
(except "0Z" for "Z0", as Luhn's "09" for "90"), are caught by the check character,
so a typo gets "check the code", never someone else's invitation. Fifty random bits
make guessing hopeless: with a million live invitations, one guess in a billion hits
one.
"""

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_LENGTH = 10
LENGTH = RANDOM_LENGTH + 1
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})


def check_character(payload: str) -> str:
    """Return the Luhn mod 32 check character of a payload of the alphabet."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        value = _VALUE[char] * (2 if position % 2 == 0 else 1)
        total += value // 32 + value % 32
    return ALPHABET[-total % 32]


def new_code() -> str:
    """Return a fresh random code with its check character (stored form)."""
    value = int.from_bytes(secrets.token_bytes(7), "big") >> 6  # 50 random bits
    payload = "".join(ALPHABET[(value >> shift) & 31] for shift in range(45, -5, -5))
    return payload + check_character(payload)


def normalize(text: str) -> str | None:
    """Return the stored form of a typed code, or None if it cannot be a code at all."""
    code = text.strip().upper().translate(_READ_AS)
    if len(code) != LENGTH or any(ch not in _VALUE for ch in code):
        return None
    return code


def is_valid(code: str) -> bool:
    """True if a normalized code's check character matches its payload."""
    return check_character(code[:-1]) == code[-1]


def display(code: str) -> str:
    """Return a code as printed: groups of four, e.g. ``7K3M-QP9X-4TZ``."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))
