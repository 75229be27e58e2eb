"""Summarizers: turn a post into a few faithful sentences for a digest item.

`extractive` is the offline default; `llm` is an optional OpenAI-compatible backend that falls back to
the extractive summary whenever its output cannot be trusted.
"""

from briefings.summarize.base import Summarizer, Summary

__all__ = ["Summarizer", "Summary"]
