"""Story grouping against hand-labelled stories: pairwise precision and recall, and time.

    python bench/stories.py --data ../shared/data/cnndm_sample.jsonl [--thresholds 0.1,0.2,0.3]

The labels (bench/data/stories_labels.tsv) were written by reading each article; they name which
articles are one story. Each labelled article becomes a post (title: its first highlight, the
sample has no headlines; body: the article). Two runs per threshold:
  - labelled: only the labelled articles are grouped (a week's worth of posts);
  - in 1000: every article of the sample is grouped, and the labelled ones are scored (the other
    articles can pull labelled ones into wrong stories, and rarity is counted over all of them).
A pair is two posts put in the same story; precision is the share of predicted pairs that the
labels also pair, recall the share of labelled pairs that were predicted. The sample's text is
lower-cased, so this measures the fallback for text without capitals (distinctive words instead
of names); the capitalised-name path is covered by tests/test_stories.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.sample import DEFAULT_DATA
from briefings.models import Post
from briefings.stories import THRESHOLD, group_stories

LABELS = Path(__file__).with_name("data") / "stories_labels.tsv"
START = datetime(2015, 4, 1, tzinfo=UTC)


def read_labels(path: Path = LABELS) -> dict[str, str]:
    labels = {}
    for line in path.read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            article_id, story = line.split("\t")
            labels[article_id] = story
    return labels


def as_post(number: int, row: dict[str, str]) -> Post:
    when = START + timedelta(minutes=number)
    return Post(
        id=number,
        source="bench",
        url=f"https://bench.invalid/{row['id']}",
        guid=row["id"],
        title=row["highlights"].split("\n")[0],
        published=when,
        category="",
        date_line="",
        body=row["article"],
        take_label="",
        take="",
        attributions=(),
        content_hash="",
        first_seen=when,
        updated_at=when,
        edited=False,
    )


def pairs(groups: dict[str, str]) -> set[frozenset[str]]:
    """Unordered pairs of items sharing a group."""
    by_group: dict[str, list[str]] = {}
    for item, group in groups.items():
        by_group.setdefault(group, []).append(item)
    return {frozenset(p) for members in by_group.values() for p in combinations(members, 2)}


def score(posts: list[Post], labels: dict[str, str], threshold: float) -> tuple[float, ...]:
    started = time.perf_counter()
    stories = group_stories(posts, threshold=threshold)
    seconds = time.perf_counter() - started
    guid = {p.id: p.guid for p in posts}
    predicted = {
        guid[i]: str(n) for n, s in enumerate(stories) for i in s.post_ids if guid[i] in labels
    }
    got, want = pairs(predicted), pairs(labels)
    true = len(got & want)
    precision = true / len(got) if got else 1.0
    recall = true / len(want) if want else 1.0
    return precision, recall, len(got), len(want), seconds * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--thresholds", default="0.05,0.1,0.15,0.2,0.3")
    args = parser.parse_args()
    rows = [json.loads(line) for line in Path(args.data).read_text().splitlines() if line.strip()]
    labels = read_labels()
    everything = [as_post(n, row) for n, row in enumerate(rows, 1)]
    labelled = [p for p in everything if p.guid in labels]
    missing = set(labels) - {p.guid for p in labelled}
    if missing:
        raise SystemExit(f"labelled articles missing from {args.data}: {sorted(missing)[:5]}")
    stories = len(set(labels.values()))
    print(f"{len(labels)} labelled articles in {stories} stories ({len(pairs(labels))} pairs)\n")
    print("| posts grouped | threshold | precision | recall | pairs predicted | ms |")
    print("|---|---|---|---|---|---|")
    for value in (float(t) for t in args.thresholds.split(",")):
        for name, posts in (("labelled", labelled), ("in 1000", everything)):
            p, r, got, _, ms = score(posts, labels, value)
            mark = " (default)" if value == THRESHOLD else ""
            print(f"| {name} | {value}{mark} | {p:.1%} | {r:.1%} | {got} | {ms:.0f} |")


if __name__ == "__main__":
    main()
