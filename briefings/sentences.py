"""Sentence segmentation shared by the summarizer, the digest and the passage index.

Two kinds of text reach it: ordinary prose (feeds, article pages) and the lower-cased, tokenized style of
news benchmarks, where every full stop is its own token (`he said . the`). Prose is split at end
punctuation followed by a capitalised word (in any script; or any word of a script without case, such as
Arabic or Devanagari), unless the word before it is an abbreviation or an initial, and after CJK
full-width stops wherever they stand;
tokenized text is split at standalone end-punctuation tokens, keeping a closing quote with its sentence.
Bracketed attributions such as "[AP News]" stay with the sentence they follow.
"""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sen",
        "rep",
        "gov",
        "gen",
        "lt",
        "col",
        "sgt",
        "capt",
        "cpt",
        "maj",
        "adm",
        "cmdr",
        "st",
        "jr",
        "sr",
        "rev",
        "hon",
        "pres",
        "inc",
        "corp",
        "co",
        "ltd",
        "llc",
        "plc",
        "bros",
        "vs",
        "v",
        "etc",
        "no",
        "nos",
        "fig",
        "al",
        "approx",
        "est",
        "dept",
        "univ",
        "assn",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "mon",
        "tue",
        "tues",
        "wed",
        "thu",
        "thur",
        "thurs",
        "fri",
        "sat",
        "sun",
        "mt",
        "ft",
        "ave",
        "blvd",
        "rd",
        "hwy",
        "u.s",
        "u.k",
        "u.n",
        "e.u",
        "e.g",
        "i.e",
        "a.m",
        "p.m",
        "d.c",
        "u.s.a",
        "n.y",
        "l.a",
    ]
)

# After a dotted abbreviation ("U.S.") these words almost always begin a new sentence.
_SENTENCE_STARTERS = frozenset(
    [
        "the",
        "a",
        "an",
        "he",
        "she",
        "it",
        "they",
        "we",
        "i",
        "but",
        "and",
        "in",
        "on",
        "at",
        "this",
        "that",
        "these",
        "those",
        "there",
        "his",
        "her",
        "its",
        "their",
        "however",
        "meanwhile",
        "still",
        "yet",
        "so",
        "officials",
        "analysts",
        "critics",
    ]
)

# A candidate end: Latin/Cyrillic/Greek stops and the ellipsis, Arabic "؟" and "۔", Devanagari "।"/"॥"
# (all followed by a space), or CJK full-width "。！？" (no space follows). Closing quotes and brackets
# stay with the sentence. Whether a sentence really ends there is decided by `_starts_sentence`.
_PROSE_BOUNDARY = re.compile(
    r"(?:(?P<end>[.!?\u2026\u061f\u06d4\u0964\u0965]+)|(?P<cjk>[\u3002\uff01\uff1f]+))"
    r"(?P<close>[\"'\u201d\u2019)\]\u00bb\u300d\u300f\u3011\uff09]*)(?P<space>\s*)(?=\S)"
)
_OPENERS = frozenset("\"'\u201c\u2018([\u00ab")
_TOKEN_END = frozenset({".", "!", "?", "...", "..", "!!", "??", "?!", "!?"})
_QUOTE_TOKENS = frozenset({"'", '"', "''", "``", "\u201d", "\u2019"})
_LEADING_ATTRIBUTION = re.compile(r"^(\[[^\[\]\n]{1,60}\])(?!\()\s*(.*)$", re.S)
_WS = re.compile(r"\s+")


def is_tokenized(text: str) -> bool:
    """True for benchmark-style text where full stops stand alone as tokens."""
    periods = text.count(".")
    if periods < 2:
        return False
    return text.count(" . ") + text.endswith(" .") >= 0.6 * periods


def split_sentences(text: str) -> list[str]:
    """Split one paragraph (or a whole article) into sentences, whitespace-normalised."""
    text = _WS.sub(" ", text).strip()
    if not text:
        return []
    if is_tokenized(text):
        return _split_tokenized(text)
    return _attach_attributions(_split_prose(text))


def _split_tokenized(text: str) -> list[str]:
    sentences: list[str] = []
    current: list[str] = []
    quotes = 0
    tokens = text.split(" ")
    i = 0
    while i < len(tokens):
        token = tokens[i]
        current.append(token)
        if token in _QUOTE_TOKENS:
            quotes += 1
        if token in _TOKEN_END:
            # A quote right after the stop closes this sentence when a quotation is open
            # (quotations may span sentences, so the count runs over the whole text).
            while i + 1 < len(tokens) and tokens[i + 1] in _QUOTE_TOKENS and quotes % 2 == 1:
                i += 1
                current.append(tokens[i])
                quotes += 1
            sentences.append(" ".join(current))
            current = []
        i += 1
    if current:
        sentences.append(" ".join(current))
    return sentences


def _split_prose(text: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    for match in _PROSE_BOUNDARY.finditer(text):
        if not match.group("cjk"):
            if not match.group("space") or not _starts_sentence(text, match.end()):
                continue
            if _is_abbreviation(text, match.start("end"), match):
                continue
        sentences.append(text[start : match.end("close")].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return [s for s in sentences if s]


def _starts_sentence(text: str, at: int) -> bool:
    """Whether the word at `at` (after an optional opening quote or bracket) can open a sentence: an
    upper-case letter of any script, a digit, or a letter of a script without case (Arabic, Hebrew,
    Devanagari, CJK...). A lower-case word after a stop continues the sentence."""
    first = text[at]
    if first in _OPENERS and at + 1 < len(text):
        first = text[at + 1]
    if first.isascii():
        return "A" <= first <= "Z" or "0" <= first <= "9"
    if first.isdecimal() or first.isupper() or first.istitle():
        return True
    return first.isalpha() and not first.islower()


def _is_abbreviation(text: str, period_at: int, match: re.Match[str]) -> bool:
    if match.group("end") != "." or match.group("close"):
        return False
    word_start = text.rfind(" ", 0, period_at) + 1
    word = text[word_start:period_at].lstrip("(\"'\u201c\u2018[").lower()
    if not word:
        return False
    if len(word) == 1 and word.isalpha():
        return True  # an initial: "George W. Bush"
    if word in ABBREVIATIONS or ("." in word and word.replace(".", "").isalpha()):
        following = text[match.end() :].split(" ", 1)[0].strip("\"'\u201c\u2018(").lower()
        dotted = "." in word
        return not (dotted and following in _SENTENCE_STARTERS)
    return False


def _attach_attributions(sentences: list[str]) -> list[str]:
    """Move "[Reuters] Next sentence" attributions back onto the sentence they credit."""
    out: list[str] = []
    for sentence in sentences:
        match = _LEADING_ATTRIBUTION.match(sentence)
        if match and out:
            out[-1] = f"{out[-1]} {match.group(1)}"
            rest = match.group(2).strip()
            if rest:
                out.append(rest)
        else:
            out.append(sentence)
    return out
