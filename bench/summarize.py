"""Summary quality and speed on a news-summarization sample: Lead-3, sumy LexRank and ours.

    python bench/summarize.py --data ../shared/data/cnndm_sample.jsonl [--limit N]

ROUGE-1 / ROUGE-2 / ROUGE-Lsum F1 (rouge-score, Porter stemming) against the reference highlights,
3 sentences per summary, and milliseconds per article on one core. Ours is driven exactly as outside
evaluations drive it: through `briefbot summarize` on a JSONL file, timed in-process here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rouge_score import rouge_scorer

from bench.sample import load_sample
from bot.config import DigestSettings
from briefings.sentences import split_sentences
from briefings.summarize.budget import fit_sentences
from briefings.summarize.extractive import ExtractiveSummarizer

Summarize = Callable[[str], list[str]]
DEFAULT_BUDGET = DigestSettings().max_summary_tokens  # what `briefbot summarize` keeps to


def lexrank() -> Summarize:
    """sumy LexRank, offline: an untrained Punkt splitter and a data-free word tokenizer."""
    from nltk.tokenize import NLTKWordTokenizer
    from nltk.tokenize.punkt import PunktSentenceTokenizer
    from sumy.nlp.stemmers import Stemmer
    from sumy.nlp.tokenizers import Tokenizer
    from sumy.parsers.plaintext import PlaintextParser
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.utils import get_stop_words

    class OfflineTokenizer(Tokenizer):
        def _get_sentence_tokenizer(self, language: str) -> PunktSentenceTokenizer:
            return PunktSentenceTokenizer()

        def _get_word_tokenizer(self, language: str) -> NLTKWordTokenizer:
            return NLTKWordTokenizer()

    tokenizer = OfflineTokenizer("english")
    summarizer = LexRankSummarizer(Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")

    def run(text: str) -> list[str]:
        document = PlaintextParser.from_string(text, tokenizer).document
        return [str(s) for s in summarizer(document, 3)]

    return run


def score(rows: list[dict[str, str]], outputs: list[list[str]]) -> tuple[float, float, float]:
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)
    totals = [0.0, 0.0, 0.0]
    for row, summary in zip(rows, outputs, strict=True):
        result = scorer.score(row["highlights"], "\n".join(summary))
        for i, name in enumerate(("rouge1", "rouge2", "rougeLsum")):
            totals[i] += result[name].fmeasure
    n = len(rows)
    return (totals[0] / n * 100, totals[1] / n * 100, totals[2] / n * 100)


def timed(fn: Summarize, rows: list[dict[str, str]]) -> tuple[list[list[str]], float]:
    start = time.process_time()
    outputs = [fn(row["article"]) for row in rows]
    return outputs, (time.process_time() - start) / len(rows) * 1000


def cli_outputs(rows: list[dict[str, str]]) -> list[list[str]]:
    """Our summaries as `briefbot summarize` writes them, to check the command matches the library."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        for row in rows:
            handle.write(json.dumps({"id": row["id"], "article": row["article"]}) + "\n")
    exe = Path(sys.executable).with_name("briefbot")
    result = subprocess.run(
        [str(exe), "summarize", handle.name], capture_output=True, text=True, check=True
    )
    Path(handle.name).unlink()
    by_id = {
        line["id"]: line["summary"].split("\n")
        for line in map(json.loads, result.stdout.splitlines())
    }
    return [by_id[row["id"]] for row in rows]


def main() -> None:
    rows = load_sample(__doc__)
    ours = ExtractiveSummarizer()
    systems: list[tuple[str, Summarize]] = [
        ("Lead-3", lambda text: split_sentences(text)[:3]),
        ("sumy LexRank", lexrank()),
        ("briefbot extractive", lambda text: ours.summarize_text(text, 3)),
    ]
    print(f"{len(rows)} articles; ROUGE F1 x100, 3 sentences, CPU ms per article")
    print(f"{'system':<22} {'R-1':>6} {'R-2':>6} {'R-Lsum':>7} {'ms/art':>7}")
    for name, fn in systems:
        outputs, ms = timed(fn, rows)
        r1, r2, rl = score(rows, outputs)
        print(f"{name:<22} {r1:6.2f} {r2:6.2f} {rl:7.2f} {ms:7.2f}")
        if name.startswith("briefbot"):
            # The command keeps each summary to the digests' token budget, as digests do.
            budgeted = [fit_sentences(output, DEFAULT_BUDGET)[0] for output in outputs]
            same = cli_outputs(rows) == budgeted
            shortened = sum(b != o for b, o in zip(budgeted, outputs, strict=True))
            print(
                f"{'':<22} `briefbot summarize` output identical: {'yes' if same else 'NO'} "
                f"(within its {DEFAULT_BUDGET}-token budget: {shortened} of {len(rows)} shortened)"
            )


if __name__ == "__main__":
    main()
