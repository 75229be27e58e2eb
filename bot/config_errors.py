"""config.toml's problems as one line each: file, line (where it can be found), key path, what is
wrong and a valid example. The example comes from the model itself (a field's `examples`, else its
default), so a new key gets one without anything listed here."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, get_args

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from briefings.settings import FORMS, SettingProblem
from briefings.urls import redact_credentials

Loc = tuple[str | int, ...]

# What a TOML value of each Python type is called, for "expected X, got Y".
_TOML_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "a boolean"),  # before int: a bool is an int
    (int, "an integer"),
    (float, "a number"),
    (str, "a string"),
    (list, "an array"),
    (dict, "a table"),
)
_EXPECTED = {
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a string in quotes",
    "list_type": "an array",
    "model_type": "a table",
    "dict_type": "a table",
    "int_from_float": "an integer",
}
_NONE: tuple[object, ...] = (None, "", [], ())  # defaults that show no value worth copying
_SECRETIVE = re.compile(r"token|secret|key|password", re.I)  # a name that may hold a secret
# A key whose value may be a secret (bot_token_env, api_key_env; not max_summary_tokens): not shown.
_SECRET_VALUE = re.compile(r"(token|secret|key|password)(_env)?$", re.I)
_SHOWN_CHARS = 10  # "10", "off", "/briefing" with its quotes; a token is longer
# A message that already shows a correct value needs no example after it.
_SHOWS_EXAMPLE = re.compile(r"e\.g\.|\buse\b|such as|for example|did you mean", re.I)


def describe(error: Any, root: type[BaseModel], source: str, text: str) -> str:
    """One pydantic error (from validating `root`) as one line; the password of any URL it quotes
    is masked here, so no check of any URL key can show one."""
    return redact_credentials(_describe(error, root, source, text))


def _describe(error: Any, root: type[BaseModel], source: str, text: str) -> str:
    loc: Loc = tuple(error["loc"])
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, SettingProblem):
        loc = (*loc, *cause.key)
    key = dotted(loc) or "(top level)"
    where = _where(source, line_of(loc, text))
    if error["type"] == "extra_forbidden":
        return f"{where}: {_unknown(loc, error.get('input'), root)}"
    if error["type"] == "missing":
        what = "is required but missing"
    elif error["type"] == "string_pattern_mismatch":  # its regular expression helps no one
        shown = not _SECRET_VALUE.search(key)
        form = FORMS.get(str((error.get("ctx") or {}).get("pattern")), "in the form this key takes")
        what = f"{_kind(error.get('input'), shown)} is not {form}"
    elif error["type"] == "too_short":
        least = (error.get("ctx") or {}).get("min_length", 1)
        what = f"must have at least {least} {'entry' if least == 1 else 'entries'}, not none"
    elif error["type"] in _EXPECTED:
        shown = not _SECRET_VALUE.search(key)
        what = f"must be {_EXPECTED[error['type']]}, not {_kind(error.get('input'), shown)}"
    else:
        what = one_line(str(error["msg"]).removeprefix("Value error, "))
        what = re.sub(r"^(Input|String|List|Value) should ", "must ", what)
    example = "" if _SHOWS_EXAMPLE.search(what) else _example(root, loc)
    return f"{where}: {key}: {what}{example}"


def dotted(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)


def one_line(text: str) -> str:
    return " ".join(text.split())


def _where(source: str, line: int | None) -> str:
    return f"{source}:{line}" if line else source


def _kind(value: Any, show: bool) -> str:
    """What kind of TOML value `value` is, and a short value itself ("10", "off"; never a secret's).
    A longer string may be a token pasted in the wrong key: only its length is told."""
    if isinstance(value, str) and not value:
        return "an empty string"
    for kind, name in _TOML_KINDS:
        if isinstance(value, kind):
            written = toml_value(value) if not isinstance(value, dict) else ""
            if show and written and len(written) <= _SHOWN_CHARS:
                return f"{name} {written}"
            return f"a string of {len(value)} characters" if isinstance(value, str) else name
    return "a date or time" if value is not None else "nothing"


def _unknown(loc: Loc, value: Any, root: type[BaseModel]) -> str:
    """An unknown table or key: the known ones, and the closest if it looks like a typo."""
    name = str(loc[-1])
    model = _model_at(root, loc[:-1])
    known = sorted(model.model_fields) if model else []
    import difflib  # only a mistake needs it: not imported at start

    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}? " if close else ""
    if _SECRETIVE.search(name):
        hint += "(secrets come from environment variables, never from config.toml) "
    if len(loc) == 1:
        tables = ", ".join(_header(root, t) for t in known)
        what = f"unknown table [{name}]" if isinstance(value, dict) else f"unknown key '{name}'"
        return f"{what}; {hint}the tables are {tables}"
    section = dotted(loc[:-1])
    what = (
        f"unknown table [{dotted(loc)}]"
        if isinstance(value, dict)
        else f"unknown key '{dotted(loc)}'"
    )
    return f"{what}; {hint}the keys of [{section}] are {', '.join(known)}"


def _header(root: type[BaseModel], name: str) -> str:
    annotation = root.model_fields[name].annotation
    return f"[[{name}]]" if getattr(annotation, "__origin__", None) is list else f"[{name}]"


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _field_at(root: type[BaseModel], loc: Loc) -> tuple[str, FieldInfo] | None:
    """The last named field along `loc` (list indexes skipped), with its name."""
    model: type[BaseModel] | None = root
    found: tuple[str, FieldInfo] | None = None
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None or part not in model.model_fields:
            return found
        found = (part, model.model_fields[part])
        model = _model_in(found[1].annotation)
    return found


def _model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    if not loc:
        return root
    found = _field_at(root, loc)
    return _model_in(found[1].annotation) if found else None


def _example(root: type[BaseModel], loc: Loc) -> str:
    found = _field_at(root, loc)
    if found is None:
        return ""
    name, field = found
    model = _model_in(found[1].annotation)
    if model is not None:
        return _table_example(name, field, model) if loc[-1] == name else ""
    if field.examples:
        value = field.examples[0]
    elif not field.is_required() and field.default_factory is None and field.default not in _NONE:
        value = field.default
    else:
        return ""
    return f"; e.g. {name} = {toml_value(value)}"


def _table_example(name: str, field: FieldInfo, model: type[BaseModel]) -> str:
    """A whole table as an example (for `sources = []` or `digest = 3`): its header, and the
    values of its default's first entry (or one key that has an example)."""
    many = getattr(field.annotation, "__origin__", None) is list
    header = f"[[{name}]]" if many else f"[{name}]"
    default = field.get_default(call_default_factory=True)
    first = default[0] if many and default else default
    if isinstance(first, BaseModel):
        shown = first.model_dump(exclude_defaults=True) or first.model_dump()
        pairs = [f"{key} = {toml_value(value)}" for key, value in list(shown.items())[:2]]
    else:
        pairs = [_example(model, (key,)).removeprefix("; e.g. ") for key in model.model_fields]
        pairs = [pair for pair in pairs if pair][:1]
    return f"; e.g. {header} with {' and '.join(pairs)}" if pairs else f"; e.g. {header}"


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def line_of_error(error: Any, text: str) -> int | None:
    """The line `describe` names for `error`, to put several problems in the file's order."""
    loc: Loc = tuple(error["loc"])
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, SettingProblem):
        loc = (*loc, *cause.key)
    return line_of(loc, text)


def line_of(loc: Loc, text: str) -> int | None:
    """Best-effort line number of a key: find its table header, then the key after it."""
    if not text or not loc:
        return None
    lines = text.splitlines()
    start: int | None = None
    keys = [p for p in loc if isinstance(p, str)]
    if len(keys) >= 2 and len(keys) == len(loc):  # a table of its own: [digest.extra]
        path = r"\s*\.\s*".join(re.escape(k) for k in keys)
        table = re.compile(rf"^\s*\[{{1,2}}\s*{path}\s*\]")
        own = next((i for i, ln in enumerate(lines) if table.match(ln)), None)
        if own is not None:
            return own + 1
    if len(loc) >= 2 and isinstance(loc[1], int):
        header = re.compile(rf"^\s*\[\[\s*{re.escape(str(loc[0]))}\s*\]\]")
        headers = [i for i, ln in enumerate(lines) if header.match(ln)]
        if loc[1] < len(headers):
            start = headers[loc[1]]
        keys = [p for p in loc[2:] if isinstance(p, str)]  # tags.1 is on the tags line
    elif keys:
        header = re.compile(rf"^\s*\[{{1,2}}\s*{re.escape(keys[0])}\s*\]")
        start = next((i for i, ln in enumerate(lines) if header.match(ln)), None)
        if start is not None or len(keys) >= 2:
            keys = keys[1:]
    if not keys:
        return None if start is None else start + 1
    pattern = re.compile(rf"^\s*\"?{re.escape(keys[-1])}\"?\s*=")
    for i in range(start or 0, len(lines)):
        if pattern.match(lines[i]):
            return i + 1
    return None if start is None else start + 1


def toml_syntax(message: str, source: str, text: str, root: type[BaseModel]) -> str:
    """tomllib's complaint as one line: where, and the key on that line when there is one."""
    at = re.search(r"\(at line (\d+), column (\d+)\)", message)
    detail = one_line(re.sub(r"\s*\(at line \d+, column \d+\)", "", message)) or "cannot be read"
    if at is None:
        return f"{source}: not valid TOML: {detail}"
    number, column = int(at[1]), int(at[2])
    lines = text.splitlines()
    line = lines[number - 1] if 0 < number <= len(lines) else ""
    table = ""
    for previous in reversed(lines[: number - 1]):
        header = re.match(r"^\s*\[{1,2}\s*([A-Za-z0-9_.-]+)\s*\]", previous)
        if header:
            table = header[1]
            break
    assigned = re.match(r"^\s*([A-Za-z0-9_-]+)\s*=", line)
    if assigned:
        loc: Loc = (*([table] if table else []), assigned[1])
        value = line[assigned.end() :].strip()
        bare = re.match(r"[A-Za-z]", value) and value not in ("true", "false")
        hint = " (strings need quotes)" if bare else ""
        example = _example(root, loc) or '; e.g. key = "text", number = 10 or flag = true'
        return (
            f"{source}:{number}: {dotted(loc)}: not valid TOML: {detail} at column {column}"
            f"{hint}{example}"
        )
    return (
        f"{source}:{number}: not valid TOML: {detail} at column {column}; "
        "e.g. a table header [digest] or a key max_items = 10"
    )
