"""Topic tags for posts: which countries, regions and organisations a post is about, and its feed
categories, so channels can follow only the topics they care about.

Tags are plain strings, `kind:value`: `country:<ISO 3166 alpha-2, lower case>`, `region:<UN M49 slug>`,
`org:<slug>` and `category:<slug>`. A post is about a country when the title names it, or the text
names it at least twice (names, demonyms, capitals, metonyms such as "Kremlin" all count; a demonym,
or a country's name after "from", half) and it is not a side mention: a club, event or university
named after a place, a person's nationality or first name, a remark in one sentence of a longer
post, or a second country the story only reaches after its opening. Country
names, codes and UN regions come from pycountry and country_converter (accents optional; Kosovo,
which ISO lacks, from country_converter alone); the words they lack, and the rules that keep
"Georgia" the US state from tagging the Caucasus, are in `tag_words.toml`. Text in mixed case is
read by its capitals ("fine china" is no country, "Chad Smith" a person); text in one case is not.
Everything here is pure and offline; one `Vocabulary` is built on first use and shared.
"""

from __future__ import annotations

import bisect
import csv
import dataclasses
import functools
import importlib.util
import re
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from briefings.errors import TagError as TagError
from briefings.text import MAX_CONSIDERED_CHARS

KINDS = ("country", "region", "org", "category")
TAG_EXAMPLES = "country:ua, region:eastern-europe, region:europe, org:nato, category:analysis"
MAX_TAG_CHARS = 64  # a tag typed or configured; the longest real one is far shorter
MAX_FILTERS = 20  # tags one channel follows: more is a mistake, and `status` lists them all
BODY_MENTIONS = 2.0  # mentions in the body (title aside) that make a post about a place
DEMONYM_WEIGHT = 0.5  # "a Colombian actress" is weaker evidence than "in Colombia"
# A country mentioned less than this share as often as the post's main one is a side mention (a
# player's nationality, a stop on a tour), unless the title names it.
SIDE_MENTION_SHARE = 0.15
# News puts what a story is about in its opening: a country other than the main one that the body
# first names after this share of its words is an aside (a comparison, a player's old club, the
# next stop of a tour, whom a child was named after), unless the title names it. Checked on all
# three labelled sets (bench/tags.py): the latest true second country starts at 26% of a post.
OPENING_SHARE = 0.3
# A round-up (ten airports with something to do, a hotel in each of five cities) names each
# place in its own paragraph: when this many countries are each named at least twice within a
# stretch of under ROUNDUP_STRETCH of the text, no country is what the post is about.
ROUNDUP_PLACES = 2
ROUNDUP_STRETCH = 0.15
ROUNDUP_WORDS = 300  # shorter than this, a post has no room for a paragraph per place
# A post this long has room for asides: there a country whose mentions all sit in one sentence is
# a remark (where a note's writer may come from), a country's name right after "from" says where
# someone comes from, as a demonym does, and a country tied for most mentions but first named after
# the opening is not the subject. A brief of a few sentences is all subject ("ministers from
# Estonia and Latvia met").
LONG_POST_WORDS = 150
NATIONALITY_WINDOW = 2  # "the Irish TV star": the person word may come one word after the demonym

# Letter runs: "U.S." is the tokens u, s; "Russia's" is russia, s; "Guinea-Bissau" is guinea, bissau.
_WORD = re.compile(r"[^\W\d_]+|\d+")
# Where a sentence may end: a run of . ! ? before a space or the end, or a blank line (see
# `_sentence_ends` for the dots of "U.S.").
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n\s*\n")
_SLUG_GAP = re.compile(r"[\W_]+")


@dataclass(frozen=True, slots=True)
class _Form:
    """What a phrase stands for: a tag, a cued name (resolved once the whole text is read), or
    nothing (a blocked phrase, or a cue word that is only looked for)."""

    target: str  # "country:ru", "org:nato", "cued:georgia" or ""
    exact: str = ""  # counted only when the text has it written exactly so
    weight: float = 1.0  # a demonym counts for less than a place name
    named: bool = False  # a club or event named after a place in `target` ("Real Madrid")
    whole: bool = False  # the name of a whole country ("Holland"), not a city, demonym or leader


@dataclass(frozen=True, slots=True)
class _Cued:
    """A name that is also something else: `country` when its cues outnumber the `against` words
    the post has (counting distinct cue phrases), `against_country` when they are outnumbered,
    `otherwise` on a tie -- except that a name with no cues of its own is `country` when no
    `against` word is there ("Georgians" is the Caucasus people unless Atlanta or a county is)."""

    country: str
    cues: frozenset[str]
    otherwise: str
    against: frozenset[str] = frozenset()
    against_country: str = ""

    def code(self, seen: set[str]) -> str:
        cues, against = len(self.cues & seen), len(self.against & seen)
        if against > cues:
            return self.against_country
        if cues > against or (not self.cues and not against):
            return self.country
        return self.otherwise


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Everything the tagger knows, built once from the libraries and the word file."""

    forms: dict[str, _Form]  # phrase (lower-case tokens joined by spaces) -> what it means
    longest: dict[str, int]  # first token -> most tokens of a phrase starting with it
    cued: dict[str, _Cued]
    country_names: dict[str, str]  # "ru" -> "Russia"
    country_region: dict[str, str]  # "ru" -> "eastern-europe"
    region_names: dict[str, str]  # "eastern-europe" -> "Eastern Europe"
    region_parent: dict[str, str]  # "eastern-europe" -> "europe"
    orgs: frozenset[str]
    side_after: frozenset[str]  # a mention followed by one of these is a nationality: not counted
    person_before: frozenset[str]  # "daughter India": a country name after one of these is a person
    first_names: frozenset[str]  # "Chad Smith": these before a capitalised word are a person
    not_surnames: frozenset[str]  # "Jordan River": capitalised words after one that are no surname
    named_before: tuple[tuple[str, ...], ...]  # "university of Oxford": a place that names a thing
    named_after: tuple[tuple[str, ...], ...]  # "Zurich Classic", "Oxford University": likewise

    def regions_above(self, region: str) -> list[str]:
        """`region` and every M49 region containing it, innermost first."""
        chain = [region]
        while chain[-1] in self.region_parent and len(chain) < 8:
            chain.append(self.region_parent[chain[-1]])
        return chain


def phrase_key(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def slug(text: str) -> str:
    """A label as a tag value: lower case, runs of anything but letters and digits as one `-`."""
    return _SLUG_GAP.sub("-", text.lower()).strip("-")


@functools.cache
def vocabulary() -> Vocabulary:
    words = tomllib.loads((Path(__file__).with_name("tag_words.toml")).read_text("utf-8"))
    library = _library_countries()
    names: dict[str, str] = {}
    country_region: dict[str, str] = {}
    region_names: dict[str, str] = {}
    claims: dict[str, set[str]] = {}
    for code, (short, region, forms) in library.items():
        names[code] = short
        if region:
            country_region[code] = slug(region)
            region_names[slug(region)] = region
        for form in forms:
            # "Côte d'Ivoire" and "Türkiye" are often written without their accents.
            for key in {phrase_key(form), _name_key(form)}:
                claims.setdefault(key, set()).add(code)
    # A library name two countries share ("Congo", "Korea", "Virgin Islands") says nothing alone.
    table: dict[str, _Form] = {
        key: _Form(f"country:{next(iter(codes))}", whole=True)
        for key, codes in claims.items()
        if key and len(codes) == 1
    }
    whole = {phrase_key(form) for form in words["whole_country_names"]}
    for code, forms in words["forms"].items():
        for form in forms:
            key = phrase_key(form)
            table[key] = _Form(f"country:{code}", whole=key in whole)
    for org, forms in words["orgs"].items():
        for form in forms:
            table[phrase_key(form)] = _Form(f"org:{org}")
    for form in words["blocked"]:
        table[phrase_key(form)] = _Form("")
    for form in words["named_after_places"]:
        table[phrase_key(form)] = _Form(_place_in(table, phrase_key(form)), named=True)
    cued: dict[str, _Cued] = {}
    for form, rule in words["cued"].items():
        key = phrase_key(form)
        cues = frozenset(phrase_key(c) for c in rule.get("cues", ()))
        against = frozenset(phrase_key(c) for c in rule.get("against", ()))
        otherwise = rule.get("otherwise", "")
        cued[key] = _Cued(
            rule["country"], cues, otherwise, against, rule.get("against_country", otherwise)
        )
        table[key] = _Form(f"cued:{key}")
        for cue in cues | against:
            table.setdefault(cue, _Form(""))
    for form in words["exact_case"]:
        key = phrase_key(form)
        if key in table:
            table[key] = dataclasses.replace(table[key], exact=form)
    for form in words["demonyms"]:
        key = phrase_key(form)
        if key in table:
            table[key] = dataclasses.replace(table[key], weight=DEMONYM_WEIGHT)
    for form in words["person_nouns"]:
        key = phrase_key(form)
        if key in table:
            table[key] = dataclasses.replace(table[key], weight=0.0)
    longest: dict[str, int] = {}
    for key in table:
        first, size = key.split(" ", 1)[0], key.count(" ") + 1
        longest[first] = max(longest.get(first, 0), size)
    parents = dict(words["region_parents"])
    for parent in parents.values():
        region_names.setdefault(parent, parent.replace("-", " ").title())
    return Vocabulary(
        forms=table,
        longest=longest,
        cued=cued,
        country_names=names,
        country_region=country_region,
        region_names=region_names,
        region_parent=parents,
        orgs=frozenset(words["orgs"]),
        side_after=frozenset(w.lower() for w in words["side_after"]),
        person_before=frozenset(w.lower() for w in words["person_before"]),
        first_names=frozenset(phrase_key(w) for w in words["first_names"]),
        not_surnames=frozenset(w.lower() for w in words["not_surnames"]),
        named_before=tuple(tuple(phrase_key(w).split()) for w in words["named_before"]),
        named_after=tuple(tuple(phrase_key(w).split()) for w in words["named_after"]),
    )


def _place_in(table: dict[str, _Form], key: str) -> str:
    """The country a name such as "real madrid" is named after: its first word run that is a
    country's form ("madrid")."""
    words = key.split(" ")
    for size in range(len(words), 0, -1):
        for start in range(len(words) - size + 1):
            form = table.get(" ".join(words[start : start + size]))
            if form and form.target.startswith("country:"):
                return form.target
    return ""


def _library_countries() -> dict[str, tuple[str, str, list[str]]]:
    """ISO code -> (short name, UN M49 sub-region, names) from pycountry and country_converter."""
    import pycountry

    by_iso3 = _country_converter_table()
    found: dict[str, tuple[str, str, list[str]]] = {}
    for country in pycountry.countries:
        row = by_iso3.get(country.alpha_3, {})
        forms = [
            getattr(country, attr, "") or "" for attr in ("name", "common_name", "official_name")
        ] + [row.get("name_short", ""), row.get("name_official", "")]
        # "Korea, Republic of" -> "Korea"; "Bolivia, Plurinational State of" -> "Bolivia".
        forms = [f.split(",")[0].split("(")[0].strip() for f in forms if f]
        short = row.get("name_short") or forms[0]
        found[country.alpha_2.lower()] = (short, row.get("UNregion", ""), forms)
    # A country ISO 3166 has no code for yet (Kosovo, XK) is in country_converter alone.
    for row in by_iso3.values():
        code = row.get("ISO2", "").lower()
        if len(code) == 2 and code not in found and not row.get("obsolete") and row["UNregion"]:
            found[code] = (row["name_short"], row["UNregion"], [row["name_short"]])
    return found


def _country_converter_table() -> dict[str, dict[str, str]]:
    """country_converter's country table by ISO3, read from the file the package ships. Importing
    the package would load pandas (half a second) for a table csv reads in milliseconds."""
    spec = importlib.util.find_spec("country_converter")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(next(iter(spec.submodule_search_locations))) / "country_data.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["ISO3"]: row for row in csv.DictReader(handle, delimiter="\t")}


def tag_post(title: str, text: str, categories: Iterable[str] = ()) -> tuple[str, ...]:
    """The tags of one post: countries it is about (most mentioned first), their regions, the
    organisations it is about, then its feed categories."""
    text = text[:MAX_CONSIDERED_CHARS]  # its opening, as for summaries: a 1 MB post stays fast
    vocab = vocabulary()
    head = _scan(vocab, title, headline=True)
    body = _scan(vocab, text)
    seen = head.seen | body.seen
    title_counts = _resolve(vocab, head.counts, seen)
    body_counts = _resolve(vocab, body.counts, seen)
    in_names = _resolve(vocab, body.named, seen)
    where = _resolve_spans(vocab, body.where, seen)
    sentences = _resolve_sets(vocab, body.sentences, seen)
    named_sentences = _resolve_sets(vocab, body.named_sentences, seen)
    if body.words >= ROUNDUP_WORDS and _round_up(body_counts, where):
        body_counts = Counter(
            {t: n for t, n in body_counts.items() if not t.startswith("country:")}
        )
    # Clubs named after a place count for the post's main country ("Real Madrid" in a La Liga
    # story) and for no other ("Real Madrid" as a player's old club in a Premier League one).
    with_names = body_counts + in_names
    rank = {t: (with_names[t], body_counts[t]) for t in with_names if t.startswith("country:")}
    best = max(rank.values(), default=(0.0, 0.0))
    main = {t for t, r in rank.items() if r == best}  # more than one on a tie
    # On a tie the story is about the country it opens with: one first named later (a firm's
    # other office, the next stop) is not main too.
    if body.words >= LONG_POST_WORDS and any(where[t][0] <= OPENING_SHARE for t in main):
        main = {t for t in main if where[t][0] <= OPENING_SHARE}
    for target in main:
        body_counts[target] = with_names[target]
        sentences[target] = sentences.get(target, set()) | named_sentences.get(target, set())
    top = best[0]
    total = title_counts + body_counts
    chosen = [
        target
        for target in total
        if target
        and (
            title_counts[target] > 0
            or (
                body_counts[target] >= BODY_MENTIONS
                and (
                    not target.startswith("country:")
                    or (
                        # Mentions all in one sentence of a longer post ("the spelling suggests
                        # an American writer, as does the U.S. date") are one remark.
                        (body.words < LONG_POST_WORDS or len(sentences.get(target, ())) > 1)
                        and (
                            target in main
                            or (
                                body_counts[target] >= SIDE_MENTION_SHARE * top
                                and where[target][0] <= OPENING_SHARE
                            )
                        )
                    )
                )
            )
        )
    ]
    chosen.sort(key=lambda t: (-title_counts[t], -total[t], t))
    countries = [t for t in chosen if t.startswith("country:")]
    regions = dict.fromkeys(
        f"region:{vocab.country_region[c[8:]]}" for c in countries if c[8:] in vocab.country_region
    )
    orgs = [t for t in chosen if t.startswith("org:")]
    # Cut to the length a filter may have, so every tag shown can be followed with `subscribe`.
    room = MAX_TAG_CHARS - len("category:")
    cats = dict.fromkeys(f"category:{s[:room].rstrip('-')}" for s in map(slug, categories) if s)
    return (*countries, *regions, *orgs, *cats)


def _round_up(counts: Counter[str], where: dict[str, tuple[float, float]]) -> bool:
    """Whether several countries are each named twice or more in one short stretch only."""
    local = [
        t
        for t, n in counts.items()
        if t.startswith("country:")
        and n >= BODY_MENTIONS
        and where[t][1] - where[t][0] < ROUNDUP_STRETCH
    ]
    return len(local) >= ROUNDUP_PLACES


@dataclass(slots=True)
class _Mentions:
    """What one scan of a text found, by target (cued names not yet resolved)."""

    counts: Counter[str] = dataclasses.field(default_factory=Counter)  # weighted mentions
    named: Counter[str] = dataclasses.field(default_factory=Counter)  # in clubs, events named so
    seen: set[str] = dataclasses.field(default_factory=set)  # every phrase key met
    # Where a target is first and last named, as shares of the words (0 = the first word).
    where: dict[str, tuple[float, float]] = dataclasses.field(default_factory=dict)
    sentences: dict[str, set[int]] = dataclasses.field(default_factory=dict)  # of counted ones
    named_sentences: dict[str, set[int]] = dataclasses.field(default_factory=dict)
    words: int = 0


def _scan(vocab: Vocabulary, text: str, headline: bool = False) -> _Mentions:
    """Weighted mentions per target in `text`, longest phrase first; mentions in clubs and events
    named after a place, apart; and where and in which sentences each is named. A `headline`
    may capitalise every word, so a capital there does not make "Chad" a first name."""
    found = _Mentions()
    if not text:
        return found
    # Text in mixed case writes names with capitals: there "china" and "turkey" are things, and
    # "WHO" and "US" are the organisation and the country. All capitals or no capitals say neither.
    cased = text != text.lower() and text != text.upper()
    ends = _sentence_ends(text)
    spans = list(_WORD.finditer(text))
    tokens = [m.group() for m in spans]
    lows = [t.lower() for t in tokens]
    forms, longest = vocab.forms, vocab.longest
    i, n = 0, len(tokens)
    found.words = n
    while i < n:
        span = longest.get(lows[i])
        if span is None:
            i += 1
            continue
        for size in range(min(span, n - i), 0, -1):
            key = lows[i] if size == 1 else " ".join(lows[i : i + size])
            form = forms.get(key)
            if form is None:
                continue
            if form.exact and (not cased or "".join(tokens[i : i + size]) != form.exact):
                continue
            if cased and form.target and tokens[i].islower() and tokens[i + size - 1].islower():
                i += size  # "fine china", "roast the turkey": a common noun, no place
                break
            found.seen.add(key)
            target, sentence = form.target, 0
            if target:
                # A nationality or a club still says early on that the country matters.
                found.where[target] = (found.where.get(target, (i / n,))[0], i / n)
                sentence = bisect.bisect_left(ends, spans[i].start())
            if target and (form.named or _names_a_thing(vocab, lows, i, size)):
                found.named[target] += form.weight  # type: ignore[assignment]
                found.named_sentences.setdefault(target, set()).add(sentence)
            elif (
                target
                and not _side(vocab, lows, i, size)
                and not _first_name(vocab, text, spans, key, i + size, cased and not headline)
            ):
                weight = form.weight
                if form.whole and n >= LONG_POST_WORDS and _from(lows, i):
                    weight = min(weight, DEMONYM_WEIGHT)
                found.counts[target] += weight  # type: ignore[assignment]
                if weight:
                    found.sentences.setdefault(target, set()).add(sentence)
            i += size
            break
        else:
            i += 1
    return found


def _sentence_ends(text: str) -> list[int]:
    """Where each sentence of `text` ends, in order; not after the dots of "U.S." or "a.m.": a
    lone letter between dots (or after a space) ends no sentence."""
    ends = []
    for match in _SENTENCE_END.finditer(text):
        at = match.start()
        if text[at] == "." and at >= 2 and text[at - 1].isalpha() and text[at - 2] in " .":
            continue
        ends.append(at)
    return ends


def _names_a_thing(vocab: Vocabulary, lows: list[str], at: int, size: int) -> bool:
    """Whether the place at `at` is part of a name the word file's patterns mark as a thing named
    after it ("the Zurich Classic", "the University of Oxford"), like a club: it says who or what,
    not where the story is."""
    after = lows[at + size : at + size + 3]
    return any(tuple(after[: len(p)]) == p for p in vocab.named_after) or any(
        at >= len(p) and tuple(lows[at - len(p) : at]) == p for p in vocab.named_before
    )


def _from(lows: list[str], at: int) -> bool:
    """Whether a country's name comes right after "from" ("a kid from Holland", "a player from
    the Netherlands"): where someone or something comes from, as a demonym would say it."""
    return (at >= 1 and lows[at - 1] == "from") or (
        at >= 2 and lows[at - 1] == "the" and lows[at - 2] == "from"
    )


def _side(vocab: Vocabulary, lows: list[str], at: int, size: int) -> bool:
    """Whether the mention at `at` describes a person rather than a place: a nationality ("the
    Spain international", "the Irish TV star") or a first name ("their daughter India")."""
    after = lows[at + size : at + size + NATIONALITY_WINDOW]
    return bool(vocab.side_after.intersection(after)) or (
        at > 0 and lows[at - 1] in vocab.person_before
    )


def _first_name(
    vocab: Vocabulary, text: str, spans: list[re.Match[str]], key: str, after: int, cased: bool
) -> bool:
    """Whether a name that is also a first name ("Chad", "Jordan") is one here: in cased text,
    followed at once (one space, same sentence) by a capitalised word that is no place word."""
    if not cased or key not in vocab.first_names or after >= len(spans):
        return False
    nxt = spans[after]
    word = nxt.group()
    return (
        text[spans[after - 1].end() : nxt.start()] == " "
        and word[0].isupper()
        and word.lower() not in vocab.not_surnames
        and word.lower() not in vocab.longest
    )


def _target(vocab: Vocabulary, name: str, seen: set[str]) -> str:
    """A scanned target as a tag: a cued name becomes its country when its cues are in the post,
    else its fallback ("" for none)."""
    if not name.startswith("cued:"):
        return name
    code = vocab.cued[name[5:]].code(seen)
    return f"country:{code}" if code else ""


def _resolve(vocab: Vocabulary, counts: Counter[str], seen: set[str]) -> Counter[str]:
    resolved: Counter[str] = Counter()
    for name, count in counts.items():
        resolved[_target(vocab, name, seen)] += count
    return resolved


def _resolve_spans(
    vocab: Vocabulary, where: dict[str, tuple[float, float]], seen: set[str]
) -> dict[str, tuple[float, float]]:
    spans: dict[str, tuple[float, float]] = {}
    for name, (first, last) in where.items():
        target = _target(vocab, name, seen)
        old = spans.get(target, (first, last))
        spans[target] = (min(old[0], first), max(old[1], last))
    return spans


def _resolve_sets(
    vocab: Vocabulary, sets: dict[str, set[int]], seen: set[str]
) -> dict[str, set[int]]:
    merged: dict[str, set[int]] = {}
    for name, ids in sets.items():
        merged.setdefault(_target(vocab, name, seen), set()).update(ids)
    return merged


def parse_tag(raw: str) -> str:
    """A tag as typed by a person, normalised (`country:UA` -> `country:ua`, `country:Ukraine`
    -> `country:ua`); TagError with examples when it names nothing."""
    raw = raw.strip()
    if len(raw) > MAX_TAG_CHARS:
        raise TagError(
            f'a tag has at most {MAX_TAG_CHARS} characters; "{raw[:20]}…" has {len(raw)}'
        )
    vocab = vocabulary()
    kind, sep, value = raw.partition(":")
    kind = kind.strip().lower()
    value = value.strip()
    if not sep or kind not in KINDS or not value:
        raise TagError(f'"{raw}" is not a tag; tags look like {TAG_EXAMPLES}')
    if kind == "country":
        code = country_code(value)
        if not code:
            raise TagError(
                f'"{value}" is not a country; use its two-letter code or name, e.g. country:ua, '
                "country:Japan, country:cote-d-ivoire (- or _ for spaces; accents optional)"
            )
        return f"country:{code}"
    value = slug(value)
    if kind == "region" and value not in vocab.region_names and value not in region_groups():
        raise TagError(f'"region:{value}" is not a region I know; {_regions_hint(value)}')
    if kind == "org" and value not in vocab.orgs:
        raise TagError(f'"org:{value}" is not an organisation I tag; known: {known_orgs()}')
    if not value:
        raise TagError(f'"{raw}" is not a tag; tags look like {TAG_EXAMPLES}')
    return f"{kind}:{value}"


def country_code(value: str) -> str:
    """The ISO code a typed country means: a code, a library name (short, official or common,
    accents and `-`/`_` for spaces optional: "cote-d-ivoire"), or another name the tagger has
    for one country ("Turkey", "Kremlin"). "" when it names none."""
    vocab = vocabulary()
    if value.lower() in vocab.country_names:
        return value.lower()
    key = _name_key(value)
    code = _country_names().get(key, "")
    rule = vocab.cued.get(key)
    # "Turkey": in text it needs a cue, typed it is the country. "Korea", which is either of two
    # countries by its cues, names neither typed alone.
    if not code and rule and (rule.otherwise or not rule.against_country):
        code = rule.country
    if not code:
        form = vocab.forms.get(phrase_key(value))
        code = form.target[8:] if form and form.target.startswith("country:") else ""
    return code


def _name_key(text: str) -> str:
    """`Côte_d'Ivoire`, `cote-d-ivoire` -> "cote d ivoire"."""
    plain = unicodedata.normalize("NFKD", text)
    return phrase_key("".join(c for c in plain if not unicodedata.combining(c)))


@functools.cache
def _country_names() -> dict[str, str]:
    """Every library name of a country (pycountry's name, official and common names, and
    country_converter's), as `_name_key`, -> its code. Names are looked up whole, before the
    tagger's cues: a person typing `country:Georgia` means the country. A name shortened at its
    comma ("Korea, Republic of" -> "Korea") counts only when no whole name or other country has it."""
    import pycountry

    by_iso3 = _country_converter_table()
    whole: dict[str, set[str]] = {}
    short: dict[str, set[str]] = {}
    for country in pycountry.countries:
        code = country.alpha_2.lower()
        row = by_iso3.get(country.alpha_3, {})
        names = [getattr(country, a, "") or "" for a in ("name", "official_name", "common_name")]
        for name in [*names, row.get("name_short", ""), row.get("name_official", "")]:
            whole.setdefault(_name_key(name), set()).add(code)
            short.setdefault(_name_key(name.split(",")[0].split("(")[0]), set()).add(code)
    found = {k: next(iter(v)) for k, v in short.items() if len(v) == 1}
    found.update({k: next(iter(v)) for k, v in whole.items() if len(v) == 1})
    found.pop("", None)
    return found


@functools.cache
def region_groups() -> dict[str, frozenset[str]]:
    """Named groups of countries that are no UN region (`region:middle-east`), from the word
    file: slug -> country codes. A post about a member country matches the group's filter."""
    words = tomllib.loads((Path(__file__).with_name("tag_words.toml")).read_text("utf-8"))
    return {name: frozenset(codes) for name, codes in words.get("region_groups", {}).items()}


@functools.cache
def _groups_of() -> dict[str, tuple[str, ...]]:
    """Country code -> the named groups it is in."""
    found: dict[str, tuple[str, ...]] = {}
    for name, codes in region_groups().items():
        for code in codes:
            found[code] = (*found.get(code, ()), name)
    return found


def _regions_hint(value: str) -> str:
    known = sorted({*vocabulary().region_names, *region_groups()})
    import difflib  # only a mistake needs it: not imported at start

    close = [r for r in known if value in r] or difflib.get_close_matches(value, known, 3, 0.5)
    near = f"closest: {', '.join(f'region:{r}' for r in close)}; " if close else ""
    return f"{near}all regions: {', '.join(known)} (write region:SLUG)"


def parse_tags(raws: Iterable[str], following: Sequence[str] = ()) -> tuple[str, ...]:
    """`following` and the tags in `raws`, without repeats; TagError for a bad tag or when a
    channel would follow more than MAX_FILTERS."""
    tags = tuple(dict.fromkeys([*following, *(parse_tag(r) for r in raws)]))
    if len(tags) > MAX_FILTERS:
        raise TagError(
            f"a channel follows at most {MAX_FILTERS} tags; this would make {len(tags)} "
            "(`unsubscribe TAG` drops one)"
        )
    return tags


def split_tag_terms(query: str) -> tuple[str, tuple[str, ...]]:
    """`"tag:country:ua grain exports"` -> ("grain exports", ("country:ua",)): the words, and the
    tags a `search` or `ask` is narrowed to. TagError names a bad one."""
    words, tags = [], []
    for word in query.split():
        if word.lower().startswith("tag:"):
            tags.append(parse_tag(word[4:]))
        else:
            words.append(word)
    return " ".join(words), tuple(dict.fromkeys(tags))


def known_orgs() -> str:
    return ", ".join(sorted(vocabulary().orgs))


def matches(post_tags: Sequence[str], filters: Sequence[str]) -> bool:
    """Whether a post with `post_tags` belongs in a channel following `filters`: no filters means
    every post; otherwise any filter the post has, a region filter also matching its sub-regions
    and a group filter (`region:middle-east`) any post about a member country."""
    if not filters:
        return True
    vocab = vocabulary()
    have = set(post_tags)
    for tag in post_tags:
        if tag.startswith("region:"):
            have.update(f"region:{r}" for r in vocab.regions_above(tag[7:]))
        elif tag.startswith("country:"):
            have.update(f"region:{g}" for g in _groups_of().get(tag[8:], ()))
    return any(f in have for f in filters)


def describe(tags: Sequence[str]) -> str:
    """Country and region tags as readers see them: "Russia, Ukraine · Eastern Europe"."""
    vocab = vocabulary()
    countries = [vocab.country_names.get(t[8:], t[8:]) for t in tags if t.startswith("country:")]
    regions = [vocab.region_names.get(t[7:], t[7:]) for t in tags if t.startswith("region:")]
    return " · ".join(p for p in (", ".join(countries), ", ".join(regions)) if p)
