"""One exception tree: whatever briefbot raises on purpose is a BriefbotError, drawn in its docs."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import adapters
import bot
import briefings
from bot.cli import ERROR_TABLE, error_heading
from briefings import errors
from briefings.errors import BriefbotError


def our_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for package in (briefings, adapters, bot):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if (
                    inspect.isclass(value)
                    # A private class (`_LeaseLost`) is a signal caught where it is raised, not
                    # an error anyone outside its module sees.
                    and not name.startswith("_")
                    and issubclass(value, BaseException)
                    and value.__module__.split(".")[0] in ("briefings", "adapters", "bot")
                ):
                    found[name] = value
    return found


def test_every_error_briefbot_defines_is_in_the_one_documented_tree() -> None:
    found = our_exceptions()
    assert {"StoreError", "FeedError", "DeliveryError", "ConfigError", "MissingSecret"} <= set(
        found
    )
    outside = sorted(n for n, cls in found.items() if not issubclass(cls, BriefbotError))
    assert outside == []
    undrawn = sorted(n for n in found if n not in (errors.__doc__ or ""))
    assert undrawn == []


def test_the_modules_that_raise_an_error_still_export_it() -> None:
    from adapters.contract import DeliveryError, MessageRejectedError
    from briefings.index import SearchIndexError
    from briefings.llm import LLMError
    from briefings.registry import UnknownCommand, UsageError
    from briefings.sources import FeedError
    from briefings.store import StoreError

    assert (StoreError, FeedError, SearchIndexError, LLMError) == (
        errors.StoreError,
        errors.FeedError,
        errors.SearchIndexError,
        errors.LLMError,
    )
    assert issubclass(MessageRejectedError, DeliveryError) and issubclass(
        UnknownCommand, UsageError
    )
    assert issubclass(UsageError, ValueError)  # callers that caught ValueError still do


def test_main_ends_each_kind_with_its_documented_exit_code() -> None:
    usage = {
        "ConfigError",
        "MissingSecret",
        "UsageError",
        "UnknownCommand",
        "ScheduleError",
        "TagError",  # a bad tag on the command line (`search "tag:..."`): exit 2
    }
    for name, kind in our_exceptions().items():
        assert issubclass(kind, BriefbotError)
        _, code = error_heading(kind.__new__(kind))
        assert code == (2 if name in usage else 1), name
    assert ERROR_TABLE[-1][0] is BriefbotError  # the catch-all comes last
