"""What briefbot raises, as one tree under `BriefbotError`.

A caller that only needs "briefbot could not do it" catches the root; one that can act on a kind
catches that kind. Every message is written for the user, in one line (a configuration error with
several bad keys joins them on it), and never holds a secret. `bot.cli.main` turns the tree into
messages and exit codes in one table.

BriefbotError
├── StoreError               the database cannot be opened, migrated, read or written
├── FeedError                a feed or page cannot be fetched or understood
├── SearchIndexError         the search index directory cannot be used
├── LLMError                 the LLM endpoint gave no usable reply (callers fall back to extractive)
├── DeliveryError            a send failed; retried with backoff (the transient kind)
│   ├── TransientDeliveryError   rate limit, 5xx, timeout, network: retried
│   ├── PermanentDeliveryError   the channel is unusable until a person acts: paused
│   └── MessageRejectedError     the platform will never take this message: dropped, told
├── UsageError               a chat command that cannot be read (also a ValueError)
│   ├── UnknownCommand       a group's name followed by none of its commands
│   └── TagError             a tag that names nothing briefbot knows (the message shows good ones)
├── SettingProblem           a settings check naming the key at fault (also a ValueError: pydantic
│                            makes it one ConfigError line; never reaches `main` on its own)
│
│   defined by the layers that own them (the engine never raises these):
├── ConfigError              bot.config: the configuration cannot be used (exit 2)
├── ScheduleError            bot.schedules: a schedule or time zone that cannot be used
├── MissingSecret            adapters.contract: a platform refused a token, intent or address (exit 2)
├── PlatformFailed           adapters.contract: a platform unavailable, or its connection ended (exit 1)
├── SlackRefused             adapters.slack.app: Slack refused a token at start
├── SlackUnavailable         adapters.slack.app: Slack unreachable, down or rate limiting at start
└── SlackListenError         adapters.slack.app: the Slack HTTP address cannot be listened on

Each class is importable from this module and from the module that raises it
(`briefings.store.StoreError`, `adapters.contract.DeliveryError`, ...).
"""

from __future__ import annotations


class BriefbotError(Exception):
    """Anything briefbot itself raises on purpose; the message is for the user."""


class StoreError(BriefbotError):
    """The database cannot be opened, migrated or written."""


class FeedError(BriefbotError):
    """A feed or page could not be fetched or understood. The message says why, in plain words."""


class SearchIndexError(BriefbotError):
    """The index directory cannot be used (permissions, disk full): one line for the user."""


class LLMError(BriefbotError):
    """The endpoint could not give a usable reply; the message says why (never the key)."""


class DeliveryError(BriefbotError):
    """Sending failed. Three kinds, which delivery treats differently:

    - transient (this class, `TransientDeliveryError`): rate limits, 5xx, timeouts, the network;
      retried with backoff, no sooner than `retry_after` seconds, the channel's later runs waiting;
    - `PermanentDeliveryError`: the channel cannot be posted to until a person acts (gone, bot
      removed, no access): the subscription is paused;
    - `MessageRejectedError`: the platform will never accept this message (a 4xx about its
      content): its posts are marked failed, never retried, and the channel's later runs go on.
    """

    permanent = False  # the channel is unusable
    rejected = False  # this message is unusable

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    permanent = True


class MessageRejectedError(DeliveryError):
    rejected = True


class TransientDeliveryError(DeliveryError):
    permanent = False


class UsageError(BriefbotError, ValueError):
    """A command line that names a command but cannot be read; the message says how to write it."""


class UnknownCommand(UsageError):
    """A group's name followed by a word that names none of its commands ("schedule sett")."""


class TagError(UsageError):
    """A tag that cannot be read or names nothing briefbot knows; the message shows good ones."""


class SettingProblem(BriefbotError, ValueError):
    """A validator's complaint about one key below the model that raised it (a model-wide check
    that knows which key is at fault), so the error names that key and its line, not the table."""

    def __init__(self, message: str, *, key: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.key = key


def describe(exc: BaseException) -> str:
    """An exception as one line for a person: its type and the first line of its message."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:300]}" if lines else type(exc).__name__
