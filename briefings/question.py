"""What a question asks for: the kind of fact (a name, a number, a date, a place, a reason), whether it
wants the post's gist or view, whether it spans posts, and which of its words only shape the question.

Pure functions on text; `ask.py` uses them to pick sentences that hold the asked-for fact and to
decide between a one-post and a several-post answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from briefings.lazy_pattern import LazyPattern
from briefings.terms import STOP_WORDS, stem, terms


class Kind(Enum):
    NAME = "name"  # who, which company
    CALLED = "called"  # what name, what is it called, nickname: a name given or used
    NUMBER = "number"  # how many, how much, how large, what percentage
    TIME = "time"  # when, what year, what day
    PLACE = "place"  # where, which country
    REASON = "reason"  # why, what caused
    OTHER = "other"


_KIND_PATTERNS: tuple[tuple[Kind, LazyPattern], ...] = (
    (
        Kind.NUMBER,
        LazyPattern(
            r"\bhow (?:many|much|large|big|long|old|far|high|tall|heavy|often|fast|deep|wide|"
            r"small|severe|expensive|strong|powerful|intense)\b|\bwhat (?:percentage|percent|number|amount|proportion|"
            r"share|age|sum|price|cost|size|total|score)\b|\bhow much\b|"
            r"\bwhat (?:\w+ )?(?:sentence|jail term|prison term|term|ban|suspension)\b",
            re.I,
        ),
    ),
    (
        Kind.TIME,
        LazyPattern(
            r"^\s*(?:and\s+)?when\b|\bwhen (?:did|does|do|was|were|is|will)\b|"
            r"\bwhat (?:year|date|day|time|month|decade)\b|\bwhich (?:year|day|month)\b",
            re.I,
        ),
    ),
    (
        Kind.PLACE,
        LazyPattern(
            r"^\s*(?:and\s+)?where\b|\bwhere (?:did|does|do|was|were|is|are|will)\b|"
            r"\b(?:what|which) (?:[\w-]+ )?(?:country|city|town|state|place|region|island|prison|hospital|"
            r"airport|venue)\b",
            re.I,
        ),
    ),
    (
        Kind.REASON,
        LazyPattern(
            r"\bwhy\b|\bwhat (?:caused|led to|prompted|made|triggered)\b|\bfor what reason\b|"
            r"\bwhat was the reason\b",
            re.I,
        ),
    ),
    (
        Kind.CALLED,
        LazyPattern(
            r"\bwhat (?:\w+ )?(?:name|nickname|alias)\b|\bname of\b|\bcalled\b|\bknown as\b|"
            # "What did Ross and Demelza call their baby daughter?"
            r"\bwhat (?:did|do|does|will|would|have|has) .+ (?:call|name)\b"
            r"(?!\s+(?:for|on|off|in|out|up|back|to)\b)",
            re.I,
        ),
    ),
    (
        Kind.NAME,
        LazyPattern(
            r"^\s*(?:and\s+)?who(?:se|m)?\b|\bwho (?:did|does|was|were|is|are|will|has|had)\b|"
            # "Which horse did …?", "For which charity …?": which one, by its name.
            r"^\s*(?:and\s+)?(?:(?:in|at|for|from|with|by|to|of|on) )?which\b|"
            r"\bwhich (?:[\w-]+ )?(?:company|team|club|player|person|man|woman|group|party|film|band|"
            r"airline|newspaper|university|school|brand|ambassador|minister|official|president|"
            r"leader|coach|manager|judge|officer|senator|actor|actress|singer|star|striker|"
            r"driver|author|artist|comedian|chef|model|doctor|lawyer)\b",
            re.I,
        ),
    ),
)

# Words that only give a question its form: never topic terms (stemmed).
_FORM_WORDS = frozenset(
    stem(w)
    for w in (
        "many",
        "much",
        "large",
        "big",
        "long",
        "old",
        "strong",
        "powerful",
        "far",
        "often",
        "name",
        "named",
        "reason",
        "percentage",
        "percent",  # the post may write "per cent" or "%": the share gate checks for it
        "proportion",
        "number",
        "amount",
        "year",
        "date",
        "day",
        "time",
        "place",
        "cause",
        "caused",
        "led",
        "last",
        "lasted",
        "use",
        "used",
    )
)

_SUMMARY = LazyPattern(
    r"\b(?:summari[sz]e|summary of|sum up|gist of|tl;?dr|overview of|brief me on)\b", re.I
)
_VIEW = LazyPattern(
    r"\bwhat (?:does|did) (?:the|this|that|it|its)?\s*(?:\w+\s){0,3}?(?:post|article|blog|piece|"
    r"analysis|it)\s+(?:conclude|think|argue|say overall|recommend|predict|make of)\b|"
    r"\b(?:conclusion|verdict|take|view|opinion) of the (?:post|article|piece)\b|"
    r"\bwhat is the (?:post|article)'?s? (?:conclusion|take|view|opinion|argument)\b",
    re.I,
)
_SPAN = LazyPattern(
    r"\b(?:this|last|past) (?:week|month|year)\b|\blately\b|\brecently\b|\bso far\b|"
    r"\b(?:posts|articles) (?:said|say|written|wrote)\b|\bwhat have the posts\b|"
    r"\bacross (?:the )?posts\b|\bcoverage of\b|\bin the posts\b",
    re.I,
)
_FOLLOW_UP = LazyPattern(
    r"^\s*(?:and|also|then|so|but|what about|how about|what else|what happens next|"
    r"what happened next|anything else|and then|why is that|why so|how so|more on)\b",
    re.I,
)


@dataclass(frozen=True, slots=True)
class QuestionShape:
    kind: Kind
    summary: bool  # "summarize the … post": the digest item and the take answer it
    view: bool  # "what does the post conclude / think": the take answers it
    spans_posts: bool  # a period or a topic across posts: one quote per post
    follow_up: bool  # leans on the thread's earlier turns
    measure: Measure | None = None  # the number or date asked for: an age, a sum, a distance …
    counted: str = ""  # the stemmed thing a "how many …" question counts ("stitch"), "" if none
    deed: str = ""  # the stemmed verb a "who …" question asks the doer of ("won"), "" if none
    named: str = ""  # the stemmed thing a "what is the name of the …" asks the name of ("tanker")
    aged: str = ""  # the stemmed person a "how old is the …" question asks about ("mother")
    # "what did X say about Y?": X's terms and Y's (both empty for any other question)
    speaker: frozenset[str] = frozenset()
    said_about: frozenset[str] = frozenset()


def shape(question: str) -> QuestionShape:
    kind = next((k for k, pattern in _KIND_PATTERNS if pattern.search(question)), Kind.OTHER)
    speaker, about = said(question) if kind is Kind.OTHER else (frozenset(), frozenset())
    return QuestionShape(
        kind=kind,
        summary=bool(_SUMMARY.search(question)),
        view=bool(_VIEW.search(question)),
        spans_posts=bool(_SPAN.search(question)),
        follow_up=bool(_FOLLOW_UP.search(question)),
        measure=measure(question) if kind in (Kind.NUMBER, Kind.TIME) else None,
        counted=counted(question) if kind is Kind.NUMBER else "",
        deed=deed(question) if kind is Kind.NAME else "",
        named=named(question) if kind is Kind.CALLED else "",
        aged=aged(question) if kind is Kind.NUMBER else "",
        speaker=speaker,
        said_about=about,
    )


_SAID = LazyPattern(
    r"\bwhat (?:did|does|do|has|have|had|will) (?P<who>.+?) (?:say|said|tell|told|write|wrote|"
    r"claim|claimed|announce|announced)\b(?P<about>.*)$",
    re.I,
)
# Speakers that are the posts or a part of one ("what does the section on X say about Y?"): the
# text itself speaks there, in its own words.
_NOT_SPEAKERS = frozenset(
    stem(w)
    for w in (
        "post",
        "article",
        "blog",
        "it",
        "section",
        "part",
        "paragraph",
        "piece",
        "story",
        "report",
        "analysis",
        "headline",
        "summary",
        "take",
    )
)


def said(question: str) -> tuple[frozenset[str], frozenset[str]]:
    """For "what did X say about Y?", X's terms and Y's: a post answers with X saying something
    among Y's words, not with X and Y in different places ("what did the king say in his speech
    at the parade?" of a post where the king is only expected at the parade). Empty for any other
    question, and when X is the posts."""
    match = _SAID.search(question)
    if match is None:
        return frozenset(), frozenset()
    who = frozenset(terms(match.group("who")))
    if not who or who & _NOT_SPEAKERS:
        return frozenset(), frozenset()
    about = frozenset(t for t in terms(match.group("about")) if t not in _FORM_WORDS)
    return who, about


_HOW_OLD = LazyPattern(
    r"\bhow old (?:is|was|were|are|will be) (?:the|a|an|his|her|their) (?:[\w-]+ ){0,3}?"
    r"([a-z-]+)(?: (?:who|whose|that|of|in|at|with|from|when|after|behind)\b|\s*\?|\s*$)",
    re.I,
)
# People named too many ways ("the 61-year-old", "Ms Lund") for their age to be looked for beside
# the word.
_LOOSE_PEOPLE = frozenset(stem(w) for w in ("man", "woman", "person", "people", "one"))


def aged(question: str) -> str:
    """The stemmed person a "how old is the …" question asks about ("how old is the mother of
    the toddler?" → "mother"): the age beside that word ("her mother, 21") answers, not the
    toddler's. "" when none is named, or the word is as loose as "man"."""
    match = _HOW_OLD.search(question)
    if match is None:
        return ""
    term = stem(match.group(1).lower())
    return "" if term in _LOOSE_PEOPLE or term in STOP_WORDS else term


# "who won …", "who was appointed …": the verb right after "who" (through a passive's auxiliary).
_WHO_DID = LazyPattern(
    r"^\s*(?:and\s+)?who\s+(?:(?:was|were|has been|had been|is|are)\s+)?([a-z]+)\b", re.I
)
_NOT_DEEDS = frozenset(
    [
        "is",
        "was",
        "are",
        "were",
        "will",
        "would",
        "has",
        "had",
        "have",
        "did",
        "does",
        "do",
        "can",
        "could",
        "should",
        "be",
        "been",
        "the",
        "a",
        "an",
        "this",
        "that",
        "else",
        "exactly",
    ]
)


# Verbs that say little alone ("who came on for X?": "came on"; "who got …"): their forms are in
# too many sentences to tell the one that answers.
LIGHT_VERBS = frozenset(
    stem(w)
    for w in (
        "come",
        "came",
        "go",
        "went",
        "get",
        "got",
        "make",
        "made",
        "take",
        "took",
        "put",
        "set",
        "give",
        "gave",
        "keep",
        "kept",
        "let",
        "bring",
        "brought",
    )
)


def deed(question: str) -> str:
    """The stemmed verb a "who …" question asks the doer of ("who won the fight?" → "won"): a
    post answers with a name in a sentence that says that deed, not a name anywhere near the
    story's words. "" when the question has no such verb ("who is the new coach?")."""
    match = _WHO_DID.search(question)
    if match is None:
        return ""
    word = match.group(1).lower()
    if word in _NOT_DEEDS or word in STOP_WORDS or word in _NOT_VERBS:
        return ""
    return stem(word)


# After "who was …" a preposition or an adverb, not a verb: "who was behind the attack?" asks for
# the doer, whom a post names with whatever verb it did ("shot", "planned"), never with "behind".
_NOT_VERBS = frozenset(
    [
        "behind",
        "in",
        "at",
        "on",
        "among",
        "with",
        "without",
        "from",
        "for",
        "to",
        "of",
        "by",
        "near",
        "inside",
        "under",
        "over",
        "after",
        "before",
        "about",
        "against",
        "into",
        "out",
        "up",
        "there",
        "here",
        "also",
        "really",
        "then",
        "now",
        "still",
        "just",
        "first",
        "last",
        "only",
    ]
)


_AUXILIARY = r"(?:did|does|do|has|have|had|was|were|is|are|will|would|could|can|should|might)"
# "how many [league] goals has …": the words before the verb; the last is what is counted.
# The counted thing ends where a verb or a preposition starts ("how many incidents on trains have
# …", "how many greyhounds turned up …").
_PREPOSITIONS = r"(?:on|in|at|of|from|for|with|by|near|during|across|inside|aboard|under|over)"
_HOW_MANY = LazyPattern(
    rf"\bhow many ((?:[a-z-]+ ){{0,3}}?)([a-z-]+) (?:{_AUXILIARY}|{_PREPOSITIONS}|[a-z]+ed)\b", re.I
)
# Counted things a post often states another way ("the death toll", "a 14-man squad", "on 12
# occasions"), and units of time, which the duration measure already checks.
_LOOSE_COUNTS = frozenset(
    stem(w)
    for w in (
        "people",
        "persons",
        "players",
        "members",
        "men",
        "women",
        "times",
        "seconds",
        "minutes",
        "hours",
        "days",
        "weeks",
        "months",
        "years",
        "decades",
    )
)


def counted(question: str) -> str:
    """The stemmed thing a "how many …" question counts ("how many stitches did he need?" →
    "stitch"): a post answers with a number of that thing ("80 stitches"), not any number. ""
    when none is named or it is a thing posts count loosely (people, times, units of time)."""
    match = _HOW_MANY.search(question)
    if match is None:
        return ""
    word = match.group(2).lower().split("-")[-1]
    term = stem(word)
    return "" if term in _LOOSE_COUNTS or word in STOP_WORDS else term


def form_words() -> frozenset[str]:
    """Stemmed words that shape a question without saying what it is about."""
    return _FORM_WORDS


_UNITS = {
    word: value
    for value, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        ]
    )
}
_TENS = {
    word: 10 * value
    for value, word in enumerate(
        ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"], 2
    )
}
_SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
# Words that say a number, counted for "is a number asked about": the spelled numbers above, their
# plurals ("hundreds", "dozens") and the words of proportion.
_NUMBER_WORDS = (
    frozenset(
        [*(w for w in _UNITS if w != "zero"), *_TENS, *_SCALES, "trillion", "hundred", "dozen"]
    )
    | {f"{w}s" for w in ("hundred", "thousand", "million", "billion", "dozen")}
    | {
        "half",
        "percent",
        "twice",
        "double",
        "triple",
    }
)
_COUNTING_WORDS = (_NUMBER_WORDS - {"half", "percent", "twice", "double", "triple"}) | {"several"}


def is_number_word(word: str) -> bool:
    """Whether a lower-cased word counts something ("eight", "dozens", "several")."""
    return word in _COUNTING_WORDS


_DIGIT = LazyPattern(r"\d|[$£€¥%]")
_MONTHS = (
    r"January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan\.|Feb\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\."
)
_TIME = LazyPattern(
    rf"\b(?:{_MONTHS})\b|\b(?:1[89]|20)\d\d\b|\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|"
    r"Saturday|Sunday|yesterday|today|tonight|tomorrow|last (?:week|month|year|night)|"
    r"next (?:week|month|year)|this (?:week|month|year)|\d{1,2}(?::\d\d)?\s?[ap]\.?m\.?|"
    r"(?:days?|weeks?|months?|years?|hours?|decades?) (?:ago|later|earlier)|morning|evening|"
    r"afternoon|midnight|noon|(?:19|20)\d0s)\b"
)
_REASON = LazyPattern(
    r"\b(?:because|due to|owing to|as a result|since|after|following|so that|in order to|"
    r"reason|caused by|led to|blamed|prompted|amid|in response to|over (?:concerns?|fears?)|"
    r"to (?:protest|avoid|prevent|protect|stop|ensure|help)|thanks to|result of|"
    # A reason said without a marker word: a belief or an explanation ("they assumed it was a
    # prank", "investigations suggest …"), a causal "as" ("killed as they were too slow", "as a
    # precaution"), "too slow", a purpose ("in a bid to", "a method of drying"), a charge ("jailed
    # for his role").
    r"(?:assum|believ|suspect|suggest|explain|thought|think|reckon|feared|fear)\w*|"
    r"as (?:a|an) (?:precaution|result|punishment|protest|gesture|warning|way|favour|favor)|"
    r"as (?:he|she|they|it|we|i|the \w+|his \w+|her \w+|their \w+) (?:was|were|is|are|had|"
    r"has|did|could|would|felt|wanted|needed)|too \w+|"
    r"in (?:a|an) (?:bid|effort|attempt) to|aimed at|designed to|intended to|meant to|"
    r"(?:method|way|means) of|purpose|for (?:being|having|failing|refusing|his|her|their) )\b",
    re.I,
)
_PLACE = LazyPattern(r"\b(?:in|at|near|from|outside|inside|across|to)\s+(?:the\s+)?[A-Z][a-z]")
_NAME_CUE = LazyPattern(
    r"\b(?:named|called|known as|nicknamed|dubbed|alias|under the name|identified as|"
    r"went by|goes by|go by|pseudonym|nickname)\b|"
    r"[\"“‘'][A-Z]",
)
_PLACE_ANY_CASE = LazyPattern(
    r"\b(?:in|at|near|from|outside|inside|across|to|into|off)\s+(?:the\s+)?([a-z][\w'-]*)", re.I
)
_UPPER = LazyPattern(r"[A-Z]")
_QUOTED_LOWER = LazyPattern(r"[\"“‘']\s?[a-z]")
_OPENERS = frozenset(
    [
        "yet",
        "still",
        "however",
        "meanwhile",
        "despite",
        "while",
        "although",
        "though",
        "instead",
        "earlier",
        "later",
        "officials",
        "authorities",
        "police",
        "people",
        "many",
        "several",
        "one",
        "two",
        "three",
        "according",
        "last",
        "next",
        "since",
        "during",
        "because",
        "unlike",
        "like",
        "even",
        "among",
    ]
)
_CAPITAL = LazyPattern(r"(?<=[a-z,;:]\s)[A-Z][a-z]+|(?<=[a-z,;:]\s)[A-Z]{2,}")


def fits(
    kind: Kind,
    sentence: str,
    question_terms: frozenset[str] = frozenset(),
    rare_terms: frozenset[str] | None = None,
) -> bool:
    """Whether the sentence holds the kind of fact asked for. In text without capitals (a
    lower-cased feed), a name or place is told by `rare_terms`: the sentence's terms few posts
    have (names are rare words), when the caller knows them."""
    uncased = rare_terms is not None and not _UPPER.search(sentence)
    if uncased and rare_terms is not None:
        new = rare_terms - question_terms
        if kind in (Kind.NAME, Kind.PLACE):
            return bool(new)
        if kind is Kind.CALLED and (_QUOTED_LOWER.search(sentence) or new):
            return True  # a quoted name, or a name (a rare word) for "what is the name of …"
    if kind is Kind.NUMBER:
        lowered = sentence.lower()
        return bool(_DIGIT.search(sentence)) or any(
            w in _NUMBER_WORDS for w in re.findall(r"[a-z]+", lowered)
        )
    if kind is Kind.TIME:
        return bool(_TIME.search(sentence))
    if kind is Kind.REASON:
        return bool(_REASON.search(sentence))
    if kind is Kind.PLACE:
        return bool(_PLACE.search(sentence))
    if kind is Kind.CALLED:
        return bool(_NAME_CUE.search(sentence))
    if kind is Kind.NAME:
        if _NAME_CUE.search(sentence):
            return True
        # A proper noun the question does not already name (a sentence's first word counts
        # unless it is a common word).
        first = re.match(r"\W*([A-Z][a-z]+)\b", sentence)
        names = [m.group() for m in _CAPITAL.finditer(sentence)]
        if first and first.group(1).lower() not in STOP_WORDS | _OPENERS:
            names.append(first.group(1))
        return any(stem(name.lower()) not in question_terms for name in names)
    return False


def placed(sentence: str, question_terms: frozenset[str], rare_terms: frozenset[str]) -> bool:
    """Whether a sentence in text without capitals names a place: a rare word (see `fits`) after a
    preposition of place ("sold in devizes"), a closer sign than any rare word."""
    new = rare_terms - question_terms
    return any(stem(m.group(1)) in new for m in _PLACE_ANY_CASE.finditer(sentence))


def topic_terms(question: str, question_words: frozenset[str]) -> list[str]:
    """The question's content terms, without the words that only shape it."""
    return [t for t in terms(question) if t not in question_words and t not in _FORM_WORDS]


# Mentions a chat platform turns into pings: Slack's <@U123>, <!channel>, <#C1|name>; Discord's
# <@123>, <@!123>, <@&123>, <#123>; and the typed @everyone / @here / @channel.
_MENTION = LazyPattern(
    r"<[@#!][^<>\s]*>|(?<![\w@])@(?:everyone|here|channel)\b|(?<![\w@])@(?=\w)", re.I
)


def without_mentions(question: str) -> str:
    """The question with mentions taken out (a handle keeps its word, without the @): a ping says
    nothing about the topic, and must never be echoed back."""
    return " ".join(_MENTION.sub(" ", question).split())


def is_blank_question(question: str) -> bool:
    """Whether nothing is asked: no letter or digit once mentions are taken out ("", "@everyone ?",
    "<!channel>!!"), so the asker gets the blank-question hint, never a "don't cover" answer."""
    return not any(c.isalnum() for c in without_mentions(question))


_NUMBER_WORD = "|".join([*_UNITS, *_TENS, *_SCALES, "hundred", "dozen"])
_NUMBER_RUN = LazyPattern(
    rf"\b(?:a|(?:{_NUMBER_WORD}))"
    rf"(?:(?:[\s-]+|(?<=hundred)\s+and\s+|(?<=thousand)\s+and\s+)(?:{_NUMBER_WORD}))+\b",
    re.I,
)


def _value(words: list[str]) -> int | None:
    total, current, seen = 0, 0, False
    for word in words:
        if word in _UNITS or word in _TENS:
            current += _UNITS.get(word, 0) + _TENS.get(word, 0)
        elif word == "hundred":
            current = (current or 1) * 100
        elif word == "dozen":
            current = (current or 1) * 12
        elif word in _SCALES:
            total += (current or 1) * _SCALES[word]
            current = 0
        elif word == "a" and not seen:
            current = 1
        else:
            return None
        seen = True
    return total + current


def digits_for_number_words(question: str) -> str:
    """Numbers of two or more words written as digits ("seventy-one" → 71, "two dozen" → 24),
    as posts usually print them. (One-word numbers meet their digits through `paraphrase.py`.)"""

    def as_digits(match: re.Match[str]) -> str:
        words = [w for w in re.split(r"[\s-]+", match.group().lower()) if w != "and"]
        value = _value(words)
        return match.group() if value is None else f"{value:,}"

    return _NUMBER_RUN.sub(as_digits, question)


class Measure(Enum):
    """What a how-many/how-much/when question wants the number or date to measure: a sentence
    holding that (not any number) is its answer, and a post with none of it does not answer."""

    AGE = "age"  # how old, what age
    MONEY = "money"  # how much did it cost, what price, how much … pay
    DURATION = "duration"  # how long (in time), for how many days
    LENGTH = "length"  # how far, high, tall, deep, wide, long (in space)
    MAGNITUDE = "magnitude"  # how strong, how powerful, what magnitude
    COUNT = "count"  # how many, what number, what score
    SHARE = "share"  # what share, percentage, proportion: a part of a whole, not any number
    AMOUNT = "amount"  # how much (of something), how large, how big: a sum, a count or a size
    YEAR = "year"  # what year, which year: a year, not a weekday
    DATE = "date"  # when, what date, which day


_MEASURE_PATTERNS: tuple[tuple[Measure, LazyPattern], ...] = (
    (Measure.AGE, LazyPattern(r"\bhow old\b|\bwhat age\b|\baged? (?:is|was|were)\b", re.I)),
    (
        Measure.MONEY,
        LazyPattern(
            # Up to eight words of any make between: "how much was White Sox catcher Tyler
            # Flowers fined", "how much does a pot-paired falafel sandwich cost".
            r"\bhow much (?:[\w'’£$€.-]+ ){0,8}?(?:cost|costs|costing|pay|paid|pays|paying|spend|"
            r"spent|spending|earn|earned|earns|earning|charge|charged|charging|raise|raised|"
            r"raising|worth|owe|owed|fined|sell|sells|selling|sold|buy|bought|fee|money|"
            r"bail|compensation|damages|reward)\b|\bhow much money\b|\bhow expensive\b|"
            r"\bwhat (?:\w+ )?(?:price|cost|fee|sum|salary|fine|bail|wage)\b|"
            r"\bhow much did (?:\w+ ){0,4}?(?:give|get|receive|win)\b",
            re.I,
        ),
    ),
    (
        Measure.DURATION,
        LazyPattern(
            r"\bhow long (?:did|does|do|was|were|will|has|have|had|is|are)\b(?! the \w+ (?:be|is|"
            r"was)\b)|\bfor how (?:long|many (?:days|weeks|months|years|hours|minutes))\b|"
            r"\bhow many (?:days|weeks|months|years|hours|minutes|seconds)\b|"
            r"\bwhat (?:\w+ )?(?:sentence|jail term|prison term|term|ban|suspension)\b",
            re.I,
        ),
    ),
    (
        Measure.LENGTH,
        LazyPattern(r"\bhow (?:far|high|tall|deep|wide|long is|long was|heavy)\b", re.I),
    ),
    (
        Measure.MAGNITUDE,
        LazyPattern(r"\bhow (?:strong|powerful|severe|intense)\b|\bwhat magnitude\b", re.I),
    ),
    (
        Measure.SHARE,
        LazyPattern(r"\bwhat (?:percentage|percent|share|proportion|fraction)\b", re.I),
    ),
    (Measure.COUNT, LazyPattern(r"\bhow many\b|\bwhat (?:number|score)\b", re.I)),
    (
        Measure.AMOUNT,
        LazyPattern(r"\bhow (?:much|big|large)\b|\bwhat (?:amount|size|total)\b", re.I),
    ),
    (Measure.YEAR, LazyPattern(r"\b(?:what|which) year\b", re.I)),
    (
        Measure.DATE,
        LazyPattern(
            r"^\s*(?:and\s+)?when\b|\bwhen (?:did|does|do|was|were|is|will)\b|"
            r"\bwhat (?:year|date|day|time|month|decade)\b|\bwhich (?:year|day|month)\b",
            re.I,
        ),
    ),
)


# Dates in text without capitals too ("on july 9"); "may" only beside a number or a preposition.
_DATE_ANY_CASE = LazyPattern(
    r"\b(?:january|february|march|april|june|july|august|september|october|november|december|"
    r"jan|feb|aug|sept?|oct|nov|dec)\b|\bmay\s+\d|\b(?:in|on|since|until|by|from|of|early|late|"
    r"mid-?|last|next|this)\s+may\b|\b\d{1,2}(?:st|nd|rd|th)?\s+may\b",
    re.I,
)


# A point in the calendar, not "next month" or "this morning": a year, a weekday, a day named.
_CALENDAR = LazyPattern(
    r"\b(?:1[89]|20)\d\d\b|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"yesterday|today|tonight|tomorrow)\b|\b\d+ (?:days?|weeks?|months?|years?) (?:ago|later)\b|"
    r"\b(?:19|20)\d0s\b|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b",
    re.I,
)


def measure(question: str) -> Measure | None:
    """What the asked-for number or date measures (None: no number or date is asked for)."""
    return next((m for m, pattern in _MEASURE_PATTERNS if pattern.search(question)), None)


_NUM = (
    r"(?:\d[\d,.]*|"
    + "|".join(
        sorted(
            (w for w in _NUMBER_WORDS if w not in {"one", "half", "twice", "double", "triple"}),
            key=len,
            reverse=True,
        )
    )
    + r"|a few|several|dozens|hundreds|thousands|millions)"
)
_BARE_YEAR = LazyPattern(r"^(?:1[89]|20)\d\d$")
_TIME_UNITS = r"(?:seconds?|minutes?|mins?|hours?|hrs?|days?|nights?|weeks?|months?|years?|decades?|centuries|century)"
_LENGTH_UNITS = (
    r"(?:miles?|kilometres?|kilometers?|km|metres?|meters?|m|feet|foot|ft|inches?|in|yards?|"
    r"centimet(?:re|er)s?|cm|millimet(?:re|er)s?|mm|storeys?|stories|floors|tonnes?|tons?|kg|"
    r"kilos?|kilograms?|lbs?|pounds?|stone|acres?|hectares?|sq|square|mph|km/h|kmh|knots)"
)
_MEASURE_FACTS: dict[Measure, LazyPattern] = {
    Measure.AGE: LazyPattern(
        rf"\b{_NUM}[\s-]+years?[\s-]+old\b|\b(?:aged?|age of)\s+\d+|,\s*\d{{1,3}}\s*,|"
        # "she was 91.", "he is 12 and …", "died at 91"
        r"\b(?:he|she|who|they|i)\s+(?:is|was|were|are|turned|turns)\s+\d{1,3}\s*(?:[.,;!]|$|"
        r"(?:when|and|at|in|on)\b)|\bdie[sd]? at \d{1,3}\b|"
        rf"\b\d{{1,3}}\s*,\s*(?:from|of|who)\b|\bin (?:his|her|their) (?:teens|\d0s)\b",
        re.I,
    ),
    Measure.MONEY: LazyPattern(
        rf"[$£€¥]\s?\d|\b\d[\d,.]*\s?(?:m|bn|k)\b|\b{_NUM}\s+(?:million|billion|thousand)?\s*"
        r"(?:dollars|pounds|euros|yen|yuan|rupees|francs|roubles|rubles|cents|pence|p)\b|"
        r"\b(?:usd|gbp|eur)\s?\d|\b\d[\d,.]*\s?(?:million|billion|bn|m)\b|\bfree\b|"
        r"\b(?:kronor|krona|kroner|zloty|lira|rand|pesos?|shekels?|dinars?|rials?|riyals?)\b",
        re.I,
    ),
    Measure.DURATION: LazyPattern(
        # "19-year-old" is an age, not a length of time.
        rf"\b{_NUM}[\s-]+(?:and a half\s+)?{_TIME_UNITS}\b(?![\s-]+old\b)|\b(?:a|an)\s+(?:hour|day|"
        r"week|month|year|decade)\b|\bovernight\b|\b(?:life|lifetime)\b",
        re.I,
    ),
    Measure.LENGTH: LazyPattern(
        rf"\b{_NUM}(?:[\s-]*|\s*\(\s*){_LENGTH_UNITS}\b|\b\d\s?(?:'|ft)\s?\d{{1,2}}\b", re.I
    ),
    Measure.YEAR: LazyPattern(r"\b(?:1[89]|20)\d\d(?:s\b|\b)", re.I),
    Measure.SHARE: LazyPattern(
        r"\d\s?(?:%|per\s?cent\b|percent\b|percentage points?\b)|"
        # "a third", "two-thirds" (not "came third"), "half", "one in five"
        r"\b(?:a|one|two|three|four)[\s-]+(?:thirds?|quarters?|fifths?|tenths?)\b|"
        rf"\b(?:half|majority|minority)\b|\b(?:{_NUM}|one) (?:in|out of) {_NUM}\b",
        re.I,
    ),
    Measure.MAGNITUDE: LazyPattern(
        r"\bmagnitude[\s-]+\d|\b\d(?:\.\d)?[\s-]+magnitude\b|\bcategory \d\b|\blevel \d\b|"
        r"\b\d(?:\.\d)?\s+on the richter\b|\bforce \d\b|\bscale\b.*\d|\d.*\bscale\b",
        re.I,
    ),
}


_RELATIVE = LazyPattern(
    rf"\b(?:within|in|for|after|by)\s+(?:a|an|the next|the coming|{_NUM})\s+{_TIME_UNITS}\b|"
    r"\b(?:next|last|this|coming|past|early|late)\s+(?:week|month|year|weekend|spring|summer|"
    r"autumn|fall|winter|season)\b",
    re.I,
)


def precise(measure: Measure, sentence: str) -> bool:
    """Whether the sentence states the measure exactly: for a date, a point in the calendar
    ("on may 9", "in 2011", "on tuesday") rather than "next month". Only dates have two grades."""
    if measure is Measure.DATE:
        return bool(_DATE_ANY_CASE.search(sentence) or _CALENDAR.search(sentence))
    if measure is Measure.YEAR:  # the year itself, not its decade
        return any(not m.group().endswith("s") for m in _MEASURE_FACTS[measure].finditer(sentence))
    return holds(measure, sentence)


def _has_count(sentence: str) -> bool:
    """A number that counts something: digits other than a bare year, a clock time or an age."""
    for match in re.finditer(r"\b\d[\d,.]*\b", sentence):
        token = match.group().rstrip(".,")
        after = sentence[match.end() : match.end() + 10].lower()
        if _BARE_YEAR.match(token) or re.match(r"\s?(?::\d|[ap]\.?m\b)", after):
            continue
        return True
    words = re.findall(r"[a-z]+", sentence.lower())
    return any(w in _NUMBER_WORDS and w not in {"one", "half"} for w in words)


def holds(measure: Measure, sentence: str) -> bool:
    """Whether the sentence states the kind of number or date asked for: "magnitude 3.1" for how
    strong, "five miles" for how deep, "15-year-old" for how old, "£2,000" for how much it cost.
    An amount ("how much ash") is any count or measurement; a count any number but a year."""
    if measure is Measure.DATE:
        return precise(measure, sentence) or bool(
            _TIME.search(sentence) or _RELATIVE.search(sentence)
        )
    if measure is Measure.COUNT:
        return _has_count(sentence)
    if measure is Measure.DURATION:  # "how long was the strike": in time, or in yards
        return any(_MEASURE_FACTS[m].search(sentence) for m in (Measure.DURATION, Measure.LENGTH))
    if measure is Measure.AMOUNT:
        return any(
            _MEASURE_FACTS[m].search(sentence) for m in (Measure.MONEY, Measure.LENGTH)
        ) or _has_count(sentence)
    return bool(_MEASURE_FACTS[measure].search(sentence))


def starts_with_sum(text: str) -> bool:
    """Whether the text opens with a sum of money ("£3.5million …", "8 million kronor …")."""
    return bool(_MEASURE_FACTS[Measure.MONEY].match(text))


# "the name of the German tanker that …", "the name of Georgina Chapman's fashion label?": the
# word before what qualifies it (a relative word, a preposition, a verb, a name) or the end.
_NAME_OF = LazyPattern(
    r"\b[Nn]ame of (?:\S+\s+){0,4}?(?!(?:the|a|an|his|her|their|its)\b)([a-z][a-z-]*)(?=\s+(?:who|whose|that|which|of|in|at|with|"
    r"from|for|on|by|he|she|they|it|[a-z]+ed)\b|\s+[A-Z]|\s*[?.!]|\s*$)"
)


# "What did they call their new baby daughter?": the thing named is the object of "call".
_CALL_WHAT = LazyPattern(
    r"\b(?:call|name)\s+(?:the|a|an|his|her|their|its)\s+(?:[\w-]+\s+){0,3}?([a-z][a-z-]*)"
    r"(?=\s*[?.!]|\s*$|\s+(?:who|that|after|when|in|at)\b)"
)


def named(question: str) -> str:
    """The stemmed thing "what is the name of the …" asks the name of ("what was the name of the
    German tanker that picked him up?" → "tanker"): a post answers with a name beside that word,
    not with any name near the story's words. "" when there is none."""
    match = _NAME_OF.search(question) or _CALL_WHAT.search(question)
    if match is None:
        return ""
    found = terms(match.group(1))
    return found[-1] if found else ""
