"""Other words a post may use for a question's word: synonyms common in news, and numbers written as
words or digits ("three" and "3", "third" and "3rd").

The synonym groups are a small hand-written file (`paraphrases.toml`, shipped in the package; no
lexicon in a dependency ships its data, and nothing is downloaded at run time). Number words come
from `num2words`, so the two spellings of the same number count as one term (it imports in
milliseconds, and only when the table is first built; `inflect`, which also spells numbers, took
seconds to import). Everything works on the stemmed terms of `terms.py`, so "purchased" and
"buying" meet through "purchas" and "buy". The same file keeps a short table of news idioms read as
their plain words ("under the hammer": auction).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from typing import Any

from briefings.terms import terms

_NUMBERS_SPELLED = (*range(0, 21), 30, 40, 50, 60, 70, 80, 90, 100, 1000)


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    """paraphrases.toml: its synonym groups and its idioms."""
    raw = resources.files("briefings").joinpath("paraphrases.toml").read_text(encoding="utf-8")
    return tomllib.loads(raw)


@lru_cache(maxsize=1)
def _idioms() -> tuple[re.Pattern[str], dict[str, str]]:
    plain = {str(k).lower(): str(v) for k, v in _table().get("idioms", {}).items()}
    phrases = sorted(plain, key=len, reverse=True)
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in phrases) + r")\b", re.I)
    return pattern, plain


def plain_words(question: str) -> str:
    """The question with each news idiom it uses read as its plain words ("going under the
    hammer" → "going auction sold"), so it meets a post that says it plainly."""
    pattern, plain = _idioms()
    return pattern.sub(lambda m: plain[m.group().lower()], question)


@lru_cache(maxsize=1)
def alternatives_table() -> dict[str, frozenset[str]]:
    """Each stemmed term to the other stemmed terms that mean the same (never itself)."""
    # Imported at first use: a process that answers no question does not pay for it at start.
    from num2words import num2words

    groups: list[set[str]] = []
    for words in _table()["groups"]:
        groups.append({t for word in words for t in terms(word)})
    for n in _NUMBERS_SPELLED:
        word = str(num2words(n))  # "twenty" (a hyphenated or two-word number is left alone)
        groups.append({str(n), *terms(word)} if " " not in word and "-" not in word else {str(n)})
        if n:
            ordinal = {
                *terms(str(num2words(n, to="ordinal_num"))),
                *terms(str(num2words(n, to="ordinal"))),
            }
            groups.append(ordinal)  # "3rd" and "third"
    groups.append({"12", "dozen"})
    table: dict[str, set[str]] = {}
    for group in groups:
        if len(group) < 2:
            continue
        for term in group:
            table.setdefault(term, set()).update(group - {term})
    return {term: frozenset(others) for term, others in table.items()}


# British and American spellings of one word, on stems: "tumour" and "tumor", "organis(e)" and
# "organiz(e)", "centr(e)" and "center", "defenc(e)" and "defens(e)". A variant that is no word
# ("doctour") matches nothing, so only the ending and a stem of four letters or more are checked.
_SPELLINGS = (("our", "or"), ("is", "iz"), ("tr", "ter"), ("enc", "ens"))


def spellings(term: str) -> frozenset[str]:
    """The other spellings of a stemmed term (British for American and back)."""
    out = set()
    for british, american in _SPELLINGS:
        for ending, other in ((british, american), (american, british)):
            if term.endswith(ending) and len(term) - len(ending) >= 3 and term.isalpha():
                out.add(term[: -len(ending)] + other)
    return frozenset(out - {term})


def alternatives(term: str) -> frozenset[str]:
    """Stemmed terms that may stand for `term` in a post (empty when none is known)."""
    return alternatives_table().get(term, frozenset()) | spellings(term)


def expand(query: Iterable[str]) -> dict[str, frozenset[str]]:
    """Each question term to the set of terms (itself included) any of which counts as it."""
    return {t: frozenset({t, *alternatives(t)}) for t in query}
