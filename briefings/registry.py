"""Chat commands declared once, on their handlers.

`@command("schedule set", args=(...), admin=True)` on a handler method records the command's name, its
typed arguments, who may run it and whether its reply is private; the first line of the handler's
docstring is its help. Everything else is derived from those declarations: the help text, the parser
for typed commands (Slack, the terminal), the admin check, and the Discord subcommands with their typed
options. Nothing else lists the commands, so none of these can drift from the others.

The declarations are platform-neutral, so adapters can build their own command trees from them without
importing the command set (`adapters.contract.RegisteredHandler` is what they are handed).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from briefings.errors import UnknownCommand as UnknownCommand
from briefings.errors import UsageError as UsageError


class ArgKind(Enum):
    """How an argument is typed and read from a line of text."""

    REST = "rest"  # the rest of the line (a question, search words); required
    WORD = "word"  # one optional word (a source name)
    SWITCH = "switch"  # on|off, given to the handler as a bool; required
    SCHEDULE = "schedule"  # "daily 08:00", "hourly" or five cron fields; required
    ZONE = "zone"  # one optional IANA time zone name (autocompleted where the platform can)
    TAGS = "tags"  # the optional rest of the line: tags such as country:ua region:europe


ROUNDUP_WORD = "roundup"  # after a schedule: it is the channel's weekly roundup's
REQUIRED_KINDS = frozenset({ArgKind.REST, ArgKind.SWITCH, ArgKind.SCHEDULE})


@dataclass(frozen=True, slots=True)
class Arg:
    name: str  # the handler's keyword and the platform's option name
    kind: ArgKind
    description: str

    @property
    def required(self) -> bool:
        """Required where the platform has typed options; a typed line may still leave it out,
        and the handler's own default (and its error message) applies."""
        return self.kind in REQUIRED_KINDS

    @property
    def usage(self) -> str:
        if self.kind is ArgKind.SWITCH:
            return "on|off"
        return f"<{self.name}>" if self.required else f"[{self.name}]"


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str  # "latest", or "group sub" such as "schedule set"
    handler: str  # the method's name on the command set
    summary: str  # the first line of the handler's docstring
    args: tuple[Arg, ...] = ()
    admin: bool = False  # checked on every call, before the handler runs
    private: bool = False  # the reply is shown only to the caller
    aliases: tuple[str, ...] = ()  # other names typed at a prompt ("?" for help)
    group_default: bool = False  # what the group's name alone runs ("schedule" -> "schedule show")

    @property
    def usage(self) -> str:
        return " ".join((self.name, *(a.usage for a in self.args)))

    @property
    def description(self) -> str:
        """One line for help and for platforms' command pickers; admin commands say so."""
        return ("(admin) " if self.admin else "") + self.summary


F = TypeVar("F", bound=Callable[..., Any])


def command(
    name: str,
    *,
    args: Sequence[Arg] = (),
    admin: bool = False,
    private: bool = False,
    aliases: Sequence[str] = (),
    group_default: bool = False,
) -> Callable[[F], F]:
    """Declare the decorated method as the handler of `name`. The handler takes the invocation
    and then each argument by keyword; a mismatch is an error at import, not at the first call."""

    def declare(handler: F) -> F:
        doc = inspect.getdoc(handler)
        if not doc:
            raise TypeError(f"command {name!r}: its handler needs a docstring (the help line)")
        keywords = set(inspect.signature(handler).parameters)
        missing = [a.name for a in args if a.name not in keywords]
        if missing:
            raise TypeError(f"command {name!r}: handler takes no {', '.join(missing)}")
        handler.__command__ = CommandSpec(  # type: ignore[attr-defined]
            name=name,
            handler=handler.__name__,
            summary=doc.splitlines()[0],
            args=tuple(args),
            admin=admin,
            private=private,
            aliases=tuple(aliases),
            group_default=group_default,
        )
        return handler

    return declare


@dataclass(frozen=True, slots=True)
class Parsed:
    spec: CommandSpec
    args: dict[str, Any]  # only the arguments given; handlers' defaults cover the rest


@dataclass(frozen=True, slots=True)
class Registry:
    commands: tuple[CommandSpec, ...]
    groups: Mapping[str, str]  # group name -> its description

    @classmethod
    def of(cls, owner: type, groups: Mapping[str, str]) -> Registry:
        """Every command declared on `owner`'s methods, in the order they are defined."""
        specs = tuple(
            spec
            for attr in vars(owner).values()
            if isinstance(spec := getattr(attr, "__command__", None), CommandSpec)
        )
        for spec in specs:
            head = spec.name.split()
            if len(head) > 2 or (len(head) == 2 and head[0] not in groups):
                raise TypeError(f"command {spec.name!r}: no such group (groups: {list(groups)})")
        names = [n for s in specs for n in (s.name, *s.aliases)]
        if len(names) != len(set(names)):
            raise TypeError(f"a command name is declared twice: {names}")
        return cls(specs, dict(groups))

    def get(self, name: str) -> CommandSpec | None:
        for spec in self.commands:
            if name == spec.name or name in spec.aliases:
                return spec
        return None

    def help_text(self, footer: str = "") -> str:
        width = max(len(s.usage) for s in self.commands) + 2
        lines = ["Commands:", *(f"  {s.usage:<{width}}{s.description}" for s in self.commands)]
        return "\n".join([*lines, footer] if footer else lines)

    def parse(self, text: str) -> Parsed | None:
        """Read a typed line such as "schedule set weekdays 07:30 Europe/London"; None when its
        first word names no command (the line is a question). Raises UsageError."""
        words = text.split()
        if not words:
            return None
        first = words[0].lower()
        if first in self.groups:
            if len(words) == 1:
                default = next((s for s in self.commands if s.group_default), None)
                if default is not None and default.name.startswith(f"{first} "):
                    return Parsed(default, {})
            name = f"{first} {words[1].lower()}" if len(words) > 1 else first
            spec, rest = self.get(name), words[2:]
            if spec is None:
                raise UnknownCommand(f"Unknown command {name!r}.")
        else:
            spec, rest = self.get(first), words[1:]
            if spec is None:
                return None
        return Parsed(spec, read_args(spec, rest))


def read_args(spec: CommandSpec, words: Sequence[str]) -> dict[str, Any]:
    """Each argument takes the words its kind reads; words left over are an error."""
    rest = list(words)
    values: dict[str, Any] = {}
    for arg in spec.args:
        if arg.kind is ArgKind.SWITCH:
            word = rest.pop(0).lower() if rest else ""
            if word not in ("on", "off"):
                raise UsageError(f"Use `{spec.name} on` or `{spec.name} off`.")
            values[arg.name] = word == "on"
            continue
        if not rest:
            continue
        taken = _words_for(arg.kind, rest)
        values[arg.name] = " ".join(rest[:taken])
        del rest[:taken]
    if rest and spec.args:  # a command without arguments ignores what follows ("status please")
        raise UsageError(f"Too many words for `{spec.name}`; use `{spec.usage}`.")
    return values


def _words_for(kind: ArgKind, words: Sequence[str]) -> int:
    if kind in (ArgKind.REST, ArgKind.TAGS):
        return len(words)
    if kind is ArgKind.SCHEDULE:  # "hourly"; five cron fields (no "hh:mm" among them); "days hh:mm"
        # ("weekly days hh:mm" too), each optionally followed by "roundup" (the weekly roundup's)
        if words[0].lower() == "hourly":
            taken = 1
        elif words[0].lower() == "weekly":
            taken = min(3, len(words))
        elif len(words) in (5, 6, 7) and not any(":" in w for w in words[:2]):
            taken = 5
        else:
            taken = min(2, len(words))
        roundup = taken < len(words) and words[taken].lower() == ROUNDUP_WORD
        return taken + 1 if roundup else taken
    return 1
