"""Token budgets made cheaper count the same: cl100k read straight from the bundled file is
tiktoken's own, the byte bounds never undercount, and budgets decide as counting every text did."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
import tiktoken
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from briefings.summarize import budget
from briefings.summarize.encoding import ENCODING_NAME, bpe_file, load_bundled, parse_ranks


@functools.cache
def reference() -> tiktoken.Encoding:
    """The encoding built by tiktoken's own loader (at first use: collecting needs none)."""
    return tiktoken.get_encoding(ENCODING_NAME)


@pytest.fixture(scope="module", autouse=True)
def _reference_built() -> None:
    """Built before the property tests, whose examples each have a deadline the build would eat."""
    reference()


def reference_count(text: str) -> int:
    return len(reference().encode(text, disallowed_special=()))


def reference_fit(sentences: Sequence[str], max_tokens: int) -> tuple[list[str], int]:
    """`fit_sentences` as it was before the shortcut: every sentence counted."""
    kept: list[str] = []
    used = 0
    for sentence in sentences:
        cost = reference_count(sentence if not kept else " " + sentence)
        if not kept and cost > max_tokens:
            return [budget._shorten(sentence, max_tokens)], len(sentences) - 1
        if kept and used + cost > max_tokens:
            break
        kept.append(sentence)
        used += cost
    return kept, len(sentences) - len(kept)


def reference_clip(text: str, max_tokens: int) -> tuple[str, bool]:
    """`clip_tokens` without the shortcut: the head always encoded (lone surrogates as U+FFFD),
    the kept tokens' whole characters taken from the head."""
    head = text[: max_tokens * 128]
    tokens = reference().encode(re.sub("[\ud800-\udfff]", "\ufffd", head), disallowed_special=())
    if len(tokens) <= max_tokens:
        return head, len(head) < len(text)
    clipped = head[: len(reference().decode_bytes(tokens[:max_tokens]).decode("utf-8", "ignore"))]
    for mark in ("\n\n", ". ", "\n"):
        cut = clipped.rfind(mark)
        if cut > len(clipped) * 0.6:
            return clipped[: cut + 1].rstrip(), True
    return clipped, True


# Any code point, lone surrogates included (tiktoken encodes them as U+FFFD), special-token text,
# and plain words, so both the shortcut and the counted path are taken.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=60)
WORDS = st.lists(
    st.sampled_from(
        ["Kyiv", "ceasefire", "talks", "the", "Déjà-vu", "日本", "😀", "<|endoftext|>"]
    ),
    max_size=12,
).map(" ".join)
TEXT = st.one_of(ANY_TEXT, WORDS)


def test_the_bundled_file_read_directly_is_tiktokens_encoding() -> None:
    fast = load_bundled()
    assert fast is not None  # the fast path is the one taken
    assert fast.name == reference().name
    assert fast._pat_str == reference()._pat_str
    assert fast._special_tokens == reference()._special_tokens
    assert fast._mergeable_ranks == reference()._mergeable_ranks
    assert budget.encoding()._mergeable_ranks == reference()._mergeable_ranks


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT)
def test_counts_are_tiktokens_and_bytes_never_undercount(text: str) -> None:
    assert budget.count_tokens(text) == reference_count(text)
    assert budget.most_tokens(text) >= reference_count(text)
    for limit in (0, 1, 5, 20):
        assert budget.within_tokens(text, limit) == (reference_count(text) <= limit)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TEXT, max_size=5), st.integers(min_value=0, max_value=120))
def test_budgets_decide_as_counting_every_sentence_did(sentences: list[str], limit: int) -> None:
    assert budget.fit_sentences(sentences, limit) == reference_fit(sentences, limit)
    text = "\n\n".join(sentences)
    assert budget.clip_tokens(text, max(1, limit)) == reference_clip(text, max(1, limit))


# Text where a token cut often falls inside a character: CJK (3 bytes each), emoji (4), accents.
MULTIBYTE = st.one_of(
    ANY_TEXT,
    st.lists(
        st.sampled_from(
            ["北京", "中国外交部表示", "。", "😀", "👩‍👩‍👧", "é", "ß", " ", "\ufffd", "\ud800"]
        ),
        max_size=40,
    ).map("".join),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(MULTIBYTE, st.integers(min_value=1, max_value=30))
def test_a_token_cut_keeps_whole_characters(text: str, limit: int) -> None:
    """The clipped text is the input's opening: never a character split into a U+FFFD."""
    clipped, cut = budget.clip_tokens(text, limit)
    assert text.startswith(clipped)
    assert clipped.count("\ufffd") <= text.count("\ufffd")
    assert cut == (clipped != text)


def test_a_giant_cjk_sentence_is_shortened_on_a_whole_character() -> None:
    sentence = "中国外交部表示北京支持通过对话解决危机" * 3000 + "。"
    [short], dropped = budget.fit_sentences([sentence], 150)
    assert dropped == 0 and short.endswith("…") and "\ufffd" not in short
    assert sentence.startswith(short[:-1])
    assert budget.count_tokens(short) <= 150


def test_a_changed_bundled_file_is_not_used(tmp_path: Path) -> None:
    """A file whose hash is not the pinned one is left to tiktoken's loader (which checks it too)."""
    lines = bpe_file().read_bytes().splitlines(keepends=True)
    changed = tmp_path / "cl100k_base.tiktoken"
    changed.write_bytes(b"".join([lines[1], lines[0], *lines[2:]]))  # two ranks swapped
    assert load_bundled(changed) is None
    assert load_bundled(tmp_path / "missing.tiktoken") is None


def test_unreadable_rank_lines_are_refused() -> None:
    with pytest.raises(ValueError):
        parse_ranks(b"IQ== 0\nIg==\n")
    with pytest.raises(ValueError):
        parse_ranks(b"IQ== 0\nIQ== 1\n")
    with pytest.raises(ValueError):
        parse_ranks(b"IQ== zero\n")
    assert parse_ranks(b"IQ== 0\nIg== 1\n") == {b"!": 0, b'"': 1}


def test_counting_falls_back_to_tiktokens_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "load_bundled", lambda: None)
    budget.encoding.cache_clear()
    try:
        assert budget.encoding() is reference()  # tiktoken's registry hands back the same object
        assert budget.count_tokens("Kyiv and Moscow") == reference_count("Kyiv and Moscow")
    finally:
        budget.encoding.cache_clear()
