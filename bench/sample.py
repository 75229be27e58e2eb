"""The news-summarization sample both quality benchmarks read, from ../shared/data (never copied here)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

DEFAULT_DATA = "../shared/data/cnndm_sample.jsonl"


def load_sample(description: str | None) -> list[dict[str, Any]]:
    """Parse --data and --limit, and return the sample's rows (id, article, highlights)."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N articles")
    args = parser.parse_args()
    rows = [json.loads(line) for line in Path(args.data).read_text().splitlines() if line.strip()]
    return rows[: args.limit] if args.limit else rows
