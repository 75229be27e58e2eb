"""Fit the few global numbers of answer choice and the decline gate, with leave-one-set-out
cross-validation, instead of rules keyed to particular misses.

    python bench/ask_fit.py --data ../shared/data/cnndm_sample.jsonl [--sets NAME=DIR ...]
        [--settings N] [--out results.json]

Loads the store and index once (as bench/ask.py does), then asks every hand-written question of
every set under many settings of the named constants (`PARAMS`), recording per question whether it
was answered and whether the answer holds its key facts. Sets: "own" (answerable.jsonl with
unanswerable.txt and unanswerable_news.txt), "h1" to "h5" (bench/data's held-out sets; 3 to 5 were
written blind, see bench/ask.py), and any directory given with --sets NAME=DIR holding
answerable_heldoutN[_multi].jsonl and unanswerable_heldoutN.txt (a new set written elsewhere).

Cross-validation: for each set left out, the setting with the most right outcomes (key facts on
answerable questions, declines on unanswerable ones) over the other sets is chosen, ties to the
setting nearest today's, and scored on the set left out. Printed: per left-out set, today's figures
beside the chosen setting's; then the setting best over all sets.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import briefings.answer_select as sel
import briefings.ask as ask_mod
from bench.ask import DATA, HELDOUT_DATES, _synced, key_facts, load_store
from bench.sample import load_sample

# name -> (module or "settings", candidate values; the first is today's)
PARAMS: dict[str, tuple[Any, list[float]]] = {
    "FIT_BONUS": (sel, [0.4, 0.0, 0.2, 0.3, 0.5, 0.6, 0.8, 1.0]),
    "NEAR_CREDIT": (sel, [0.7, 0.0, 0.3, 0.5, 0.9, 1.0]),
    "FAR_CREDIT": (sel, [0.6, 0.0, 0.3, 0.8, 1.0]),
    "KEEP_RATIO": (sel, [0.5, 0.4, 0.6, 0.7]),
    "FACT_SHARE": (sel, [0.65, 0.5, 0.55, 0.6, 0.7, 0.75, 0.8]),
    "BEFORE": (sel, [2, 1, 3]),
    "AFTER": (sel, [1, 0, 2]),
    "SPREAD_POWER": (sel, [0.5, 0.0, 0.25, 0.75, 1.0]),
    "PARAPHRASE_CREDIT": (sel, [0.8, 0.5, 0.65, 1.0]),
    "HEADING_CREDIT": (sel, [0.5, 0.25, 0.75, 1.0]),
    "min_coverage": ("settings", [0.5, 0.4, 0.45, 0.55, 0.6, 0.65]),
    "WITHOUT_RAREST": (ask_mod, [0.7, 0.6, 0.65, 0.75, 0.8, 0.9]),
    "COMMON_IDF": (ask_mod, [3.0, 2.0, 2.5, 3.5, 4.0]),
    "CLOSE_SCORES": (ask_mod, [0.97, 0.9, 0.95, 0.99]),
}
TODAY = {name: values[0] for name, (_, values) in PARAMS.items()}


def load_sets(extra: dict[str, Path]) -> dict[str, list[dict[str, Any]]]:
    """Each set's questions: {"question", "keys"} (keys None: the posts do not answer it)."""

    def answerable(*paths: Path) -> list[dict[str, Any]]:
        return [
            {"question": (item := json.loads(line))["question"], "keys": item["keys"]}
            for path in paths
            if path.exists()
            for line in path.read_text().splitlines()
            if line.strip()
        ]

    def unanswerable(*paths: Path) -> list[dict[str, Any]]:
        return [
            {"question": q, "keys": None}
            for path in paths
            for q in path.read_text().splitlines()
            if q.strip()
        ]

    sets = {
        "own": answerable(DATA / "answerable.jsonl")
        + unanswerable(DATA / "unanswerable.txt", DATA / "unanswerable_news.txt"),
        "h1": answerable(DATA / "answerable_heldout.jsonl")
        + unanswerable(DATA / "unanswerable_heldout.txt"),
        "h2": answerable(DATA / "answerable_heldout2.jsonl")
        + unanswerable(DATA / "unanswerable_heldout2.txt"),
    }
    for n in (3, 4, 5):  # the blind sets (see bench/ask.py)
        sets[f"h{n}"] = answerable(
            DATA / f"answerable_heldout{n}.jsonl", DATA / f"answerable_heldout{n}_multi.jsonl"
        ) + unanswerable(DATA / f"unanswerable_heldout{n}.txt")
    for name, where in extra.items():
        n = where.name[-1]
        sets[name] = answerable(
            where / f"answerable_heldout{n}.jsonl", where / f"answerable_heldout{n}_multi.jsonl"
        ) + unanswerable(where / f"unanswerable_heldout{n}.txt")
    return sets


def apply(index: ask_mod.PassageIndex, setting: dict[str, float]) -> None:
    for name, value in setting.items():
        where = PARAMS[name][0]
        if where == "settings":
            index.settings = index.settings.model_copy(update={name: value})
        else:
            setattr(where, name, type(PARAMS[name][1][0])(value))


def outcomes(
    index: ask_mod.PassageIndex, sets: dict[str, list[dict[str, Any]]]
) -> tuple[dict[str, list[tuple[bool, bool]]], list[float]]:
    """Per set, per question: (answered, right); and every ask's latency."""
    out, latency = {}, []
    for name, items in sets.items():
        rows = []
        for item in items:
            start = time.perf_counter()
            answer = index.ask(item["question"])
            latency.append(time.perf_counter() - start)
            text = "\n".join((answer.text, answer.opinion))
            if item["keys"] is None:
                rows.append((answer.grounded, not answer.grounded))
            else:
                rows.append((answer.grounded, answer.grounded and key_facts(text, item["keys"])))
        out[name] = rows
    return out, latency


def figures(
    sets: dict[str, list[dict[str, Any]]], rows: dict[str, list[tuple[bool, bool]]], name: str
) -> dict[str, int]:
    items = sets[name]
    ans = [r for r, i in zip(rows[name], items, strict=True) if i["keys"] is not None]
    una = [r for r, i in zip(rows[name], items, strict=True) if i["keys"] is None]
    return {
        "n": len(ans),
        "facts": sum(right for _, right in ans),
        "answered": sum(grounded for grounded, _ in ans),
        "u": len(una),
        "declined": sum(right for _, right in una),
    }


def right(rows: dict[str, list[tuple[bool, bool]]], names: list[str]) -> int:
    return sum(r for name in names for _, r in rows[name])


def distance(setting: dict[str, float], today: dict[str, float]) -> int:
    """How many parameters differ from today's (the first setting tried)."""
    return sum(setting[k] != today[k] for k in setting)


def settings_to_try(count: int, seed: int = 14) -> list[dict[str, float]]:
    """Today's; each parameter moved alone through its values; then random combinations."""
    tried = [dict(TODAY)]
    for name, (_, values) in PARAMS.items():
        tried += [{**TODAY, name: v} for v in values[1:]]
    rng = random.Random(seed)
    while len(tried) < count:
        setting = dict(TODAY)
        for name in rng.sample(sorted(PARAMS), rng.randint(2, 5)):
            setting[name] = rng.choice(PARAMS[name][1])
        if setting not in tried:
            tried.append(setting)
    return tried


def main() -> None:
    args = sys.argv[1:]
    extra, count, out_path = {}, 0, None
    for flag in ("--sets", "--settings", "--out"):
        while flag in args:
            i = args.index(flag)
            value = args[i + 1]
            del args[i : i + 2]
            if flag == "--sets":
                name, _, where = value.partition("=")
                extra[name] = Path(where)
            elif flag == "--settings":
                count = int(value)
            else:
                out_path = Path(value)
    sys.argv = [sys.argv[0], *args]
    rows_data = load_sample(__doc__)
    sets = load_sets(extra)
    dated = json.loads(HELDOUT_DATES.read_text())
    now = datetime.fromisoformat(dated["now"])
    published = {
        g: datetime.fromisoformat(d).replace(hour=12, tzinfo=UTC)
        for g, d in dated["published"].items()
    }
    tried = settings_to_try(count or 0)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        store = load_store(rows_data, f"sqlite:///{Path(tmp) / 'ask.db'}", published)
        index = _synced(store, Path(tmp))
        index.clock = lambda: now
        for k, setting in enumerate(tried):
            apply(index, setting)
            rows, latency = outcomes(index, sets)
            results.append({"setting": setting, "rows": rows, "latency": latency})
            print(f"{k + 1}/{len(tried)} right {right(rows, list(sets))}", file=sys.stderr)
        apply(index, TODAY)
        store.close()
    if out_path:
        out_path.write_text(json.dumps({"sets": sets, "results": results}))
    report(sets, results)


def report(sets: dict[str, list[dict[str, Any]]], results: list[dict[str, Any]]) -> None:
    names = list(sets)
    today = results[0]
    p99 = float(np.percentile(np.array(today["latency"]) * 1000, 99))
    print(f"today's setting: ask() p99 {p99:.2f} ms over {len(today['latency'])} questions")

    def line(label: str, f: dict[str, int]) -> str:
        return (
            f"{label:<8} key facts {f['facts']}/{f['n']} answered {f['answered']}/{f['n']} "
            f"declined {f['declined']}/{f['u']}"
        )

    totals = {"today": [0] * 5, "cv": [0] * 5}
    for left in names:
        train = [n for n in names if n != left]
        best = max(
            results,
            key=lambda r: (right(r["rows"], train), -distance(r["setting"], today["setting"])),
        )
        changed = {k: v for k, v in best["setting"].items() if v != today["setting"][k]}
        a, b = figures(sets, today["rows"], left), figures(sets, best["rows"], left)
        print(f"left out {left}: chosen {changed or 'today'}")
        print("  " + line("today", a))
        print("  " + line("chosen", b))
        for key, f in (("today", a), ("cv", b)):
            for j, field in enumerate(("facts", "n", "answered", "declined", "u")):
                totals[key][j] += f[field]
    for key, t in totals.items():
        print(
            f"pooled {key}: key facts {t[0]}/{t[1]} ({t[0] / t[1]:.1%}) answered {t[2]}/{t[1]} "
            f"({t[2] / t[1]:.1%}) declined {t[3]}/{t[4]} ({t[3] / t[4]:.1%})"
        )
    best = max(
        results, key=lambda r: (right(r["rows"], names), -distance(r["setting"], today["setting"]))
    )
    print(
        f"best over all sets: {({k: v for k, v in best['setting'].items() if v != today['setting'][k]}) or 'today'} "
        f"right {right(best['rows'], names)} vs today {right(today['rows'], names)}"
    )


if __name__ == "__main__":
    if "--report" in sys.argv:
        saved = json.loads(Path(sys.argv[sys.argv.index("--report") + 1]).read_text())
        report(saved["sets"], saved["results"])
    else:
        main()
