"""The weekly roundup: a week's posts grouped into stories, biggest story first.

Pure: it takes the posts (and, optionally, their tags) and returns a `Roundup` that each adapter
draws its own way. Stories come from `briefings.stories`; a story of one post is not a story, so
single posts are gathered at the end of their section under "Other posts". When posts carry
`region:` tags ("region:eastern-europe"), stories are grouped into one section per region (a
story's region is the one most of its posts carry); without them there is one section.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from briefings.models import Post
from briefings.stories import group_stories

TITLE = "IR in Five weekly roundup"
OTHER_POSTS = "Other posts"
NO_REGION = "Other regions"  # the heading of stories without a region, beside regional sections
REGION_PREFIX = "region:"


@dataclass(frozen=True, slots=True)
class RoundupPost:
    post_id: int
    title: str
    url: str
    published: datetime | None


@dataclass(frozen=True, slots=True)
class RoundupStory:
    """One story's posts, oldest first. `grouped` is False for the "Other posts" list."""

    label: str
    posts: tuple[RoundupPost, ...]
    grouped: bool = True

    @property
    def heading(self) -> str:
        count = len(self.posts)
        return f"{self.label}: {count} post{'s' if count != 1 else ''}"


@dataclass(frozen=True, slots=True)
class RoundupSection:
    """Stories of one region; `region` is empty when posts carry no region tags at all."""

    region: str
    stories: tuple[RoundupStory, ...]


@dataclass(frozen=True, slots=True)
class Roundup:
    since: datetime
    until: datetime
    sections: tuple[RoundupSection, ...]
    title: str = TITLE

    @property
    def posts(self) -> tuple[RoundupPost, ...]:
        return tuple(p for s in self.sections for story in s.stories for p in story.posts)

    @property
    def empty(self) -> bool:
        return not self.sections

    @property
    def heading(self) -> str:
        count = len(self.posts)
        span = f"{self.since:%d %b} to {self.until:%d %b %Y}"
        return f"{self.title}, {span}: {count} post{'s' if count != 1 else ''}"


def build_roundup(
    posts: Sequence[Post],
    since: datetime,
    until: datetime,
    *,
    tags: Mapping[int, Iterable[str]] | None = None,
    title: str = TITLE,
) -> Roundup:
    """The roundup of the posts published (or first seen) from `since` to before `until`:
    stories by size, then by their newest post; sections by region when posts have regions.
    `tags` (post id -> tags) overrides the posts' own tags."""
    week = [p for p in posts if since <= (p.published or p.first_seen) < until]
    tag_lists = {p.id: list((tags or {}).get(p.id, p.tags)) for p in week}
    by_id = {p.id: p for p in week}
    regions = {p.id: _regions(tag_lists[p.id]) for p in week}
    regional = any(regions.values())
    stories: dict[str, list[RoundupStory]] = {}
    singles: dict[str, list[RoundupPost]] = {}
    for story in group_stories(week, tag_lists):
        region = _region_of([regions[i] for i in story.post_ids]) if regional else ""
        entries = tuple(_entry(by_id[i]) for i in story.post_ids)
        if story.size == 1:
            singles.setdefault(region, []).extend(entries)
        else:
            stories.setdefault(region, []).append(RoundupStory(story.label, entries))
    sections = []
    for region in sorted(
        set(stories) | set(singles),
        key=lambda r: (r == "", -_count(stories.get(r, []), singles.get(r, [])), r),
    ):
        listed = list(stories.get(region, []))
        if singles.get(region):
            newest_first = sorted(singles[region], key=_newest_key)
            listed.append(RoundupStory(OTHER_POSTS, tuple(newest_first), grouped=False))
        name = _region_name(region) if region else (NO_REGION if regional else "")
        sections.append(RoundupSection(name, tuple(listed)))
    return Roundup(since=since, until=until, sections=tuple(sections), title=title)


def _entry(post: Post) -> RoundupPost:
    return RoundupPost(post.id, post.title, post.url, post.published or post.first_seen)


def _newest_key(post: RoundupPost) -> tuple[float, int]:
    return (-(post.published.timestamp() if post.published else 0.0), post.post_id)


def _regions(tags: Iterable[str]) -> list[str]:
    return [t.removeprefix(REGION_PREFIX) for t in tags if t.startswith(REGION_PREFIX)]


def _region_of(post_regions: list[list[str]]) -> str:
    """The region most of a story's posts carry ("" if none has one); ties by name."""
    counts = Counter(r for regions in post_regions for r in set(regions))
    if not counts:
        return ""
    return min(counts, key=lambda r: (-counts[r], r))


def _region_name(slug: str) -> str:
    return slug.replace("-", " ").replace("_", " ").strip().title() or slug


def _count(stories: list[RoundupStory], singles: list[RoundupPost]) -> int:
    return sum(len(s.posts) for s in stories) + len(singles)
