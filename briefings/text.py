"""HTML to clean text, and an IR in Five post split into its parts.

An IR in Five post, as the site publishes it, reads: site name, title, a "MM/DD – category" line, body
paragraphs with sub-headings and bracketed source attributions ("[AP News]"), then an "Analysis:" or
"Opinion:" section with the post's own take, then site chrome ("Comments", "Leave a comment", share
links). Posts from other feeds have none of these markers and come out as title plus paragraphs.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

from briefings.models import Post, PostParts
from briefings.sentences import split_sentences

if TYPE_CHECKING:
    from lxml import etree

_DROP_TAGS = frozenset(
    [
        "script",
        "style",
        "noscript",
        "iframe",
        "img",
        "svg",
        "form",
        "button",
        "nav",
        "template",
        "object",
        "embed",
        "video",
        "audio",
        "picture",
        "source",
        "figure",
        "canvas",
        "input",
        "select",
        "textarea",
        "head",
    ]
)
_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "blockquote",
        "pre",
        "section",
        "article",
        "header",
        "footer",
        "tr",
        "ul",
        "ol",
        "table",
        "hr",
        "br",
        "dl",
        "dt",
        "dd",
        "main",
        "aside",
        "figcaption",
    ]
)
_LOOKS_LIKE_HTML = re.compile(r"<\s*(?:[a-zA-Z][a-zA-Z0-9]*|!--|/[a-zA-Z])")
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]"
)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
# Chat mention syntax (<!channel>, <@U123>, <#C1>) would be eaten by an HTML parser as markup;
# escape it first so it survives as visible text, to be rendered inert by each adapter.
_CHAT_MARKUP = re.compile(r"<(?=[!@#][A-Za-z0-9^|&])(?!!--)(?!!\[CDATA\[)(?!!doctype)", re.I)

# What a summary or the passage index considers of one post: its opening, however long the post. The
# extractive summarizer compares every sentence with every other, so an unbounded post would hold it for
# minutes; the stored post keeps its whole text.
MAX_CONSIDERED_CHARS = 50_000
MAX_CONSIDERED_SENTENCES = 400
# Titles and categories are labels: a feed's runaway title or a bogus category must not fill a digest.
MAX_TITLE_CHARS = 300
MAX_CATEGORY_CHARS = 60

SITE_NAMES = frozenset({"irinfive", "ir in five", "ir in 5", "irin5"})
_DATE_LINE = re.compile(
    r"^(?P<month>\d{1,2})/(?P<day>\d{1,2})(?:/\d{2,4})?\s*[\u2013\u2014\-|:]\s*(?P<category>.+)$"
)
_TAKE = re.compile(r"^(?P<label>Analysis|Opinion)\s*[:\uff1a]\s*(?P<rest>.*)$", re.I | re.S)
# Everything from one of these to the end is comments, sharing and subscription chrome.
_TRAILING_CHROME = re.compile(
    r"^(?:comments?|\d+\s+comments?|leave a (?:comment|reply)|share this|like this|"
    r"post navigation|discover more from\b.*|subscribe to\b.*|no comments yet\.?|"
    r"related posts?|you may also like)\s*:?$",
    re.I,
)
# Lines of chrome that can sit anywhere: share buttons, "Posted in ...", tag lists.
_LINE_CHROME = re.compile(
    r"^(?:share(?: on)? (?:x|twitter|facebook|linkedin|reddit|email|whatsapp|telegram)|"
    r"click to (?:share|email|print)\b.*|tweet|share|email|print|facebook|linkedin|reddit|"
    r"posted in\b.*|tags?:.*|filed under\b.*|like loading\W*|loading\W*|"
    r"(?:continue|read) reading\b.*|the post .* appeared first on .*)$",
    re.I,
)
# "[AP News]"; not a markdown link's text, whose "]" is followed at once by "(" ("[here](url)").
# A source is a name, so it opens with a capital ("[AP News]", "[Sources: Reuters, AFP]", "[via
# BBC]"); a link's label in brackets ("[click here]", "[Read more]", "[Full story]") is not one, nor
# is a markdown link ("[AP News](https://…)").
_LINK_LABEL = (
    r"(?:click|tap|read|watch|listen|learn|see|view|continue|subscribe|sign|follow|share|download|"
    r"link|here|more|full story|full article|source)\b"
)
_ATTRIBUTION = re.compile(
    r"\[\s*(?:(?i:(?:sources?|photos?|images?|credits?)\s*[:\u2013-]|via\s)\s*)?"
    rf"(?!(?i:{_LINK_LABEL}))([A-Z][^\[\]\n]{{0,58}}?)\s*\](?!\()"
)
# Closing punctuation of a sentence, Latin or full-width (CJK: "。", "！", "」" ...).
_HEADING_END = re.compile(
    r"[.!?:;,\"'\u201d\u2019)\]\u2026"
    r"\u3001\u3002\u300d\u300f\uff01\uff09\uff0c\uff0e\uff1a\uff1b\uff1f]$"
)


def clean_inline(text: str) -> str:
    """Normalise one run of text: NFC, no control or ANSI sequences, single spaces."""
    text = unicodedata.normalize("NFC", text)
    text = _ANSI.sub("", text)
    text = _CONTROL.sub("", text)
    return _SPACES.sub(" ", text).strip()


def html_to_paragraphs(markup: str) -> list[str]:
    """Paragraphs of visible text. Scripts, styles, images and tracking pixels are dropped.

    Plain text (no tags) is accepted too: paragraphs are then separated by blank lines or line breaks.
    """
    if not markup or not markup.strip():
        return []
    if not _LOOKS_LIKE_HTML.search(markup):
        return _text_paragraphs(markup)
    markup = _CHAT_MARKUP.sub("&lt;", markup)
    # lxml is imported here, at the first HTML read: a command that reads none (posts, digest
    # --no-refresh, search) starts without it.
    import lxml.html
    from lxml import etree

    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, huge_tree=True)
    try:
        root = lxml.html.fragment_fromstring(
            markup.encode("utf-8", "replace"),
            create_parent="div",
            parser=parser,  # huge_tree: past depth 256 libxml2 would drop the rest of the post
        )
    except (etree.ParserError, ValueError):
        return _text_paragraphs(_strip_tags(markup))
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
        # Nested deeper than libxml2 goes even so (2,048): it dropped text, the tags are ignored.
        return _text_paragraphs(_flat_text(markup))
    chunks: list[str] = []
    _walk(root, chunks)
    return _text_paragraphs("".join(chunks))


def html_to_text(markup: str) -> str:
    return "\n\n".join(html_to_paragraphs(markup))


def _walk(root: etree._Element, out: list[str]) -> None:
    """Visible text of `root` in document order, blocks set apart by blank lines. Iterative: a
    post with thousands of unclosed tags nests deeper than Python's recursion limit."""
    from lxml import etree

    walker = etree.iterwalk(root, events=("start", "end"))
    for event, element in walker:
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        dropped = tag in _DROP_TAGS or not isinstance(element.tag, str)
        if event == "start":
            if dropped:
                walker.skip_subtree()
            elif tag in _BLOCK_TAGS:
                out.append("\n\n")
            if not dropped and element.text:
                out.append(element.text)
            continue
        if tag in _BLOCK_TAGS and not dropped:
            out.append("\n\n")
        if element.tail and element is not root:
            out.append(element.tail)


_DROPPED_CONTENT = re.compile(r"(?is)<(script|style|noscript|template)\b.*?</\1\s*>")
_BLOCK_TAG = re.compile(r"(?i)</?(?:" + "|".join(sorted(_BLOCK_TAGS)) + r")\b[^>]*>")


def _flat_text(markup: str) -> str:
    """Text of markup no parser can hold: scripts dropped, block tags as paragraph breaks."""
    text = _BLOCK_TAG.sub("\n\n", _DROPPED_CONTENT.sub(" ", markup))
    return html.unescape(_strip_tags(text))


def _strip_tags(markup: str) -> str:
    return re.sub(r"<[^>]*>", " ", markup)


def _text_paragraphs(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = re.split(r"\n\s*\n", text) if "\n\n" in text else text.split("\n")
    paragraphs = []
    for block in blocks:
        # Single newlines inside a blank-line-separated block are soft wraps.
        cleaned = clean_inline(block.replace("\n", " "))
        if cleaned:
            paragraphs.append(cleaned)
    return paragraphs


def is_heading(paragraph: str) -> bool:
    """A short line without closing punctuation: a sub-heading, not a sentence."""
    return (
        len(paragraph) <= 90
        and 0 < len(paragraph.split()) <= 12
        and not _HEADING_END.search(paragraph)
    )


def find_attributions(text: str) -> list[str]:
    """Source names in brackets ("[AP News]", "[Reuters, BBC]"), in order of first appearance."""
    seen: dict[str, None] = {}
    for match in _ATTRIBUTION.finditer(text):
        for name in re.split(r"\s*[;,/|]\s*|\s+and\s+", match.group(1)):
            name = name.strip(" .")
            if name and not name.isdigit() and len(name) > 1:
                seen.setdefault(name, None)
    return list(seen)


def strip_attributions(text: str) -> str:
    """The sentence without its bracketed source credits, for display where sources are listed apart."""
    stripped = _ATTRIBUTION.sub("", text)
    return re.sub(r"\s+([.,;:!?])", r"\1", _SPACES.sub(" ", stripped)).strip()


def split_post(paragraphs: list[str] | str, title_hint: str = "") -> PostParts:
    """Split an article into title, date line, category, body paragraphs, take and attributions."""
    if isinstance(paragraphs, str):
        paragraphs = html_to_paragraphs(paragraphs)
    paras = [p for p in (clean_inline(p) for p in paragraphs) if p]
    hint = clean_inline(title_hint)

    while paras and paras[0].lower().replace("\u2019", "'") in SITE_NAMES:
        paras.pop(0)
    title = hint
    if paras and hint and _same_title(paras[0], hint):
        paras.pop(0)
    elif not hint and len(paras) > 1 and is_heading(paras[0]):
        title = paras.pop(0)

    date_line, category = "", ""
    for index, para in enumerate(paras[:3]):
        match = _DATE_LINE.match(para)
        # A "category" longer than a label is a sentence that starts with a date: body text.
        if match and len(match.group("category").strip()) <= MAX_CATEGORY_CHARS:
            date_line, category = para, match.group("category").strip()
            del paras[: index + 1]
            break

    paras = _drop_chrome(paras)

    take_label, take_paras = "", []
    for index, para in enumerate(paras):
        match = _TAKE.match(para)
        if match and index > 0:
            take_label = match.group("label").capitalize()
            rest = match.group("rest").strip()
            take_paras = ([rest] if rest else []) + paras[index + 1 :]
            paras = paras[:index]
            break

    attributions = find_attributions("\n".join(paras + take_paras))
    return PostParts(
        title=clip_at_word(title, MAX_TITLE_CHARS),
        date_line=date_line,
        category=category,
        paragraphs=tuple(paras),
        take_label=take_label,
        take="\n\n".join(take_paras),
        attributions=tuple(attributions),
    )


def _same_title(line: str, title: str) -> bool:
    def norm(s: str) -> str:
        return re.sub(r"\W+", " ", s.lower()).strip()

    return norm(line) == norm(title)


def _drop_chrome(paras: list[str]) -> list[str]:
    kept: list[str] = []
    for para in paras:
        if kept and _TRAILING_CHROME.match(para):
            break
        if _LINE_CHROME.match(para):
            continue
        kept.append(para)
    return kept


def _stands_alone(ch: str) -> bool:
    """A CJK character or full-width form: a word may end before or after it with no space."""
    code = ord(ch)
    return 0x2E80 <= code <= 0xD7FF or 0xF900 <= code <= 0xFFEF or 0x20000 <= code <= 0x3FFFF


def _wordlike(ch: str) -> bool:
    return (ch.isalnum() or unicodedata.category(ch).startswith("M")) and not _stands_alone(ch)


def clip_at_word(text: str, limit: int) -> str:
    """`text` when it fits in `limit` characters; else its longest opening that ends at a word's
    end and fits with "…" after it: before a space or beside a CJK character, failing that beside
    punctuation ("a,b"). Only a single word longer than the limit is cut inside (still "…")."""
    if len(text) <= limit:
        return text
    room = limit - 1  # for the "…"
    for loose in (False, True):
        for i in range(room, 0, -1):
            before, after = text[i - 1], text[i]
            if loose:
                at_end = not (_wordlike(before) and _wordlike(after))
            else:
                at_end = after.isspace() or _stands_alone(before) or _stands_alone(after)
            if at_end and (kept := text[:i].rstrip(" ,;:-\u2013\u2014\t\n\r")):
                return kept + "\u2026"
    return text[:room] + "\u2026"


def opening_sentences(
    text: str, budget: int = MAX_CONSIDERED_CHARS, *, keep_cut: bool = True
) -> tuple[list[str], int]:
    """The sentences within the first `budget` characters of `text`, and the budget left.

    A sentence the cut runs through is left out, so nothing considered is half a sentence, unless
    it is the only one and `keep_cut`: then it is kept shortened at a word and marked "…", never
    cut silently. The scan is linear in the budget, not in the text."""
    if len(text) <= budget:
        return split_sentences(text), budget - len(text)
    sentences = split_sentences(text[:budget])
    if len(sentences) > 1:
        return sentences[:-1], 0
    if not sentences or not keep_cut:
        return [], 0
    # The character after the cut tells whether it fell at a word's end.
    return [clip_at_word(sentences[0] + text[budget : budget + 1], len(sentences[0]))], 0


def has_body(paragraphs: Iterable[str]) -> bool:
    """Whether some paragraph reads as prose. Sub-headings are passed over only beside prose: a post
    made only of short lines without stops (Thai, which ends no sentence with a mark, or terse
    updates) is all body, not all headings, or nothing of it would be summarized or found."""
    return any(p.strip() and not is_heading(p) for p in paragraphs)


def readable_sentences(paragraphs: Iterable[str]) -> list[str]:
    """Sentences of the paragraphs that are not sub-headings (see `has_body`), bracketed source
    credits removed: what digests, summaries and answers quote. Only the opening of a long text
    counts (the first MAX_CONSIDERED_CHARS characters, at most MAX_CONSIDERED_SENTENCES sentences)."""
    paragraphs = list(paragraphs)
    headings_apart = has_body(paragraphs)
    out: list[str] = []
    budget = MAX_CONSIDERED_CHARS
    for paragraph in paragraphs:
        if budget <= 0 or len(out) >= MAX_CONSIDERED_SENTENCES:
            break
        if not paragraph.strip() or (headings_apart and is_heading(paragraph)):
            budget -= len(paragraph)
            continue
        sentences, budget = opening_sentences(paragraph, budget, keep_cut=not out)
        out.extend(cleaned for sentence in sentences if (cleaned := strip_attributions(sentence)))
    return out[:MAX_CONSIDERED_SENTENCES]


# A line break that ends a sentence in plain text: any blank line, as an HTML block ends one, or a
# short line (its next word would have fit on it) with no closing punctuation, such as a title or a
# "MM/DD – category" line, before a line that opens a sentence. Prose wrapped at a fixed width (each
# line full, or going on in lower case) stays one sentence; a line that ends in a stop is left to
# the sentence splitter.
_LINE_BREAK = re.compile(r"[ \t\f\v]*(?:\r\n?|\n)(?P<blank>\s*(?:\r\n?|\n))?\s*")


def text_lines(text: str) -> list[str]:
    """`text` in runs that each end a sentence or more, split at the line breaks that end one."""
    width = max(map(len, text.splitlines()), default=0)
    runs: list[str] = []
    start = 0
    for match in _LINE_BREAK.finditer(text):
        before, at = text[start : match.start()], match.end()
        if at >= len(text):
            break
        if match.group("blank") or (
            not _HEADING_END.search(before)
            and _opens_sentence(text[at:])
            and _is_short(before, text[at:], width)
        ):
            runs.append(before)
            start = at
    runs.append(text[start:])
    return [_unwrapped(run) for run in runs if run.strip()]


def _unwrapped(run: str) -> str:
    """A run's wrapped lines joined as they were before wrapping: by a space, but by nothing between
    two CJK characters or anywhere in mostly-CJK text (those scripts put no space between words,
    so a break there stands for none, even inside a Latin name: "Dona" / "ld Trump"), or after a
    hyphen a word was broken at ("long-" / "term")."""
    if "\n" not in run and "\r" not in run:
        return run
    visible = [c for c in run if not c.isspace()]
    mostly_cjk = 2 * sum(map(_stands_alone, visible)) > len(visible)

    def join(match: re.Match[str]) -> str:
        if match.start() == 0 or match.end() == len(run):
            return ""
        before, after = run[match.start() - 1], run[match.end()]
        spaced = " " in match.group() or "\t" in match.group()  # a space the text had itself
        if (mostly_cjk and not spaced) or (_stands_alone(before) and _stands_alone(after)):
            return ""
        if (
            before == "-"
            and after.isalpha()
            and match.start() > 1
            and run[match.start() - 2].isalpha()
        ):
            return ""
        return " "

    return _LINE_BREAK.sub(join, run)


def _is_short(before: str, after: str, width: int) -> bool:
    """Whether the last line of `before` had room for the first word of `after`: a line wrapped at
    a fixed width is broken because it did not."""
    line = before[before.rfind("\n") + 1 :]
    word = after.split(None, 1)[0]
    return len(line) + 1 + len(word) <= width


def _opens_sentence(line: str) -> bool:
    """Whether a line's first word can open a sentence (not a lower-case word)."""
    first = line.lstrip("\"'\u201c\u2018([\u00ab")[:1]
    return bool(first) and not first.islower()


def considered_sentences(text: str) -> list[str]:
    """The sentences of a whole text that a summary considers, capped as `readable_sentences` is
    (`briefbot summarize` input, which keeps its sentences as given). A line break that ends a
    sentence (see `text_lines`) ends one here, and a line of its own that reads as a heading (a
    title, a date line) is passed over as HTML headings are, unless the text has nothing else."""
    runs = text_lines(text)
    # Lines of their own that read as headings. One after a line ending in a stop shares that
    # line's run (such a break is left to the sentence splitter), so it is passed over among the
    # run's sentences too, never taking the run's prose with it.
    alone = {line.strip() for line in text.splitlines() if is_heading(line.strip())}
    out: list[str] = []
    budget = MAX_CONSIDERED_CHARS
    for run in [run for run in runs if run.strip() not in alone] or runs:
        if budget <= 0 or len(out) >= MAX_CONSIDERED_SENTENCES:
            break
        sentences, budget = opening_sentences(run, budget, keep_cut=not out)
        out.extend(sentences)
    prose = [sentence for sentence in out if sentence not in alone]
    return (prose or out)[:MAX_CONSIDERED_SENTENCES]


# Curly and modifier apostrophes as the straight one, so "it’s" and "it's" are one word.
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2018\u2019\u02bc\u2032`", "'"))
# A word: letters and digits, with apostrophes only inside ("don't"; not a quote's 'marks').
_KEY_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def sentence_key(sentence: str) -> str:
    """What makes two sentences the same one: their words alone, whatever the spacing, case,
    punctuation or quotes around them ("On Friday ." and “on Friday!” are one sentence)."""
    return " ".join(_KEY_WORD.findall(sentence.translate(_APOSTROPHES).casefold()))


def distinct_sentences(sentences: Iterable[str]) -> list[str]:
    """The sentences without repeats (the first of each is kept): a summary or take said twice in
    a post (a repeated caption, a pasted paragraph) is shown once."""
    seen: set[str] = set()
    out: list[str] = []
    for sentence in sentences:
        key = sentence_key(sentence)
        if key not in seen:
            seen.add(key)
            out.append(sentence)
    return out


def body_sentences(post: Post) -> list[str]:
    return readable_sentences(post.paragraphs)


def take_sentences(post: Post) -> list[str]:
    return readable_sentences(post.take.split("\n\n"))
