"""Country tags against hand labels: precision, recall and time per post.

    python bench/tags.py [--data ../shared/data/cnndm_sample.jsonl] [--seed ../shared/seed] [--misses]

`bench/data/tags_labels.jsonl` holds, for posts of the news sample and the seed IR in Five post, the
countries each is substantially about, written by reading each post (ids and labels only; the text
is read from ../shared). Precision and recall count (post, country) pairs over every labelled post.
Time is the tagger alone (vocabulary built beforehand), median of five passes, on one core.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from briefings.tags import tag_post, vocabulary
from briefings.text import split_post

LABELS = Path(__file__).with_name("data") / "tags_labels.jsonl"


def load_posts(data: Path, seed: Path) -> list[tuple[str, str, str, set[str]]]:
    """(id, title, text, labelled countries) for every labelled post."""
    labels = [json.loads(line) for line in LABELS.read_text().splitlines() if line.strip()]
    articles = {
        row["id"]: row["article"]
        for row in (json.loads(line) for line in data.read_text().splitlines() if line.strip())
    }
    posts = []
    for label in labels:
        pid = label["id"]
        if pid.startswith("seed:"):
            parts = split_post((seed / pid[5:]).read_text())
            title, text = parts.title, "\n\n".join((parts.body, parts.take))
        else:
            title, text = "", articles[pid]
        posts.append((pid, title, text, set(label["countries"])))
    return posts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/cnndm_sample.jsonl"))
    parser.add_argument("--seed", type=Path, default=Path("../shared/seed"))
    parser.add_argument("--misses", action="store_true", help="list each wrong or missed tag")
    args = parser.parse_args()
    posts = load_posts(args.data, args.seed)
    vocabulary()  # built once per process; not part of a post's cost
    tp = fp = fn = 0
    for pid, title, text, truth in posts:
        got = {t[8:] for t in tag_post(title, text) if t.startswith("country:")}
        tp += len(got & truth)
        fp += len(got - truth)
        fn += len(truth - got)
        if args.misses and got != truth:
            print(f"{pid}: extra {sorted(got - truth)} missed {sorted(truth - got)}")
    passes = []
    for _ in range(5):
        start = time.perf_counter()
        for _pid, title, text, _truth in posts:
            tag_post(title, text)
        passes.append((time.perf_counter() - start) / len(posts))
    chars = statistics.mean(len(text) for _p, _t, text, _l in posts)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    print(f"posts {len(posts)} (mean {chars:,.0f} characters), labelled countries {tp + fn}")
    print("| metric | value | aim |")
    print("|---|---|---|")
    print(f"| country precision | {precision:.1%} ({tp}/{tp + fp}) | ≥ 95% |")
    print(f"| country recall | {recall:.1%} ({tp}/{tp + fn}) | ≥ 85% |")
    print(f"| ms per post | {statistics.median(passes) * 1000:.2f} | ≤ 2 |")


if __name__ == "__main__":
    main()
