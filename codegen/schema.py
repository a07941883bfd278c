"""Function schemas: `base[.overload](Type name=default, *, ...) -> returns`."""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field

# Argument types the runtime knows how to accept; `[N]` sizes and `?` are stripped first.
ARG_TYPES = {"Tensor", "Tensor[]", "Tensor?[]", "Scalar", "int", "int[]", "float", "bool", "bool[]", "str",
             "ScalarType", "Device"}

# Reductions are spelled as in PyTorch's schemas and passed as at::Reduction's integers.
REDUCTIONS = {"None": 0, "Mean": 1, "Sum": 2}

_NAME = re.compile(r"^([a-z_][a-z0-9_]*)(?:\.([A-Za-z0-9_]+))?$")
_ARG = re.compile(r"^(?P<type>[A-Za-z]+(?:\((?P<alias>[a-z])\))?\??(?:\[\d*\])?\??)"  # Tensor(a)? int[2]
                  r"\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\s*=\s*(?P<default>.+))?$")
_RETURN = re.compile(r"^Tensor(?:\((?P<alias>[a-z])\))?(?:\s+(?P<name>[a-z_][a-z0-9_]*))?$")


class SchemaError(ValueError):
    """A malformed schema; `column` is the offset inside the schema text."""

    def __init__(self, message: str, column: int = 0):
        super().__init__(message)
        self.column = column


@dataclass(frozen=True)
class Argument:
    name: str
    type: str  # base type without `?` or `[N]`: Tensor, int[], Scalar, ...
    optional: bool
    size: int | None  # N of `int[N]`
    has_default: bool
    default: object
    keyword_only: bool
    alias: str = ""  # `Tensor(a) self`: outputs annotated `Tensor(a)` are views of this input
    column: int = field(default=0, compare=False)  # where its name is in the schema text

    @property
    def is_tensor(self) -> bool:
        return self.type == "Tensor"

    @property
    def is_tensor_list(self) -> bool:
        return self.type == "Tensor[]"

    @property
    def is_input(self) -> bool:
        """A graph input: a Tensor, optional Tensor, or list of Tensors (one edge each)."""
        return self.type in ("Tensor", "Tensor[]")


@dataclass(frozen=True)
class Schema:
    base: str
    overload: str
    arguments: tuple[Argument, ...]
    returns: tuple[str, ...]  # names of the outputs ("result" for a single unnamed one)
    text: str
    view_of: str = ""  # the input the (single) output is a view of, from `Tensor(a)` annotations
    output_columns: tuple[int, ...] = field(default=(), compare=False)  # where each output is in the text
    # The graph inputs, in schema order (Tensor, Tensor? and Tensor[] arguments); set from `arguments`.
    tensor_arguments: tuple[Argument, ...] = field(init=False, repr=False, compare=False)
    _by_name: dict = field(init=False, repr=False, compare=False)

    @property
    def full_name(self) -> str:
        return f"{self.base}.{self.overload}" if self.overload else self.base

    def __post_init__(self):
        # asked for by every formula name and every op: computed once (the dataclass is frozen)
        object.__setattr__(self, "tensor_arguments", tuple(a for a in self.arguments if a.is_input))
        object.__setattr__(self, "_by_name", {a.name: a for a in self.arguments})

    def argument(self, name: str) -> Argument | None:
        return self._by_name.get(name)


def parse_schema(text: str) -> Schema:
    head, arrow, ret = text.partition("->")
    if not arrow:
        raise SchemaError("schema has no '-> returns'", len(text))
    head = head.strip()
    if not head.endswith(")") or "(" not in head:
        raise SchemaError("schema must look like 'name(args) -> returns'")
    open_at = head.index("(")
    match = _NAME.match(head[:open_at])
    if not match:
        raise SchemaError(f"bad operator name {head[:open_at]!r}: expected base[.overload]")
    base, overload = match.group(1), match.group(2) or ""
    arguments = _parse_arguments(head[open_at + 1 : -1], open_at + 1)
    after_arrow = text.index("->") + 2
    returns, aliases, output_columns = _parse_returns(ret.strip(), after_arrow + len(ret) - len(ret.lstrip()))
    view_of = ""
    if any(aliases):
        if len(aliases) > 1:
            raise SchemaError("only a single output can be a view (`-> Tensor(a)`)", after_arrow)
        owner = [a.name for a in arguments if a.alias == aliases[0]]
        if not owner:
            raise SchemaError(f"output alias ({aliases[0]}) names no input `Tensor({aliases[0]}) ...`", after_arrow)
        view_of = owner[0]
    return Schema(base, overload, arguments, returns, text, view_of, output_columns)


def _split_top_level(body: str) -> list[str]:
    """Split on commas outside brackets and quotes: `int[2] stride=[1, 1], str mode='a,b'`."""
    pieces, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(body):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            pieces.append(body[start:i])
            start = i + 1
    pieces.append(body[start:])
    return pieces


def _parse_arguments(body: str, offset: int) -> tuple[Argument, ...]:
    arguments: list[Argument] = []
    columns: dict[str, int] = {}
    keyword_only = False
    column = offset
    for piece in _split_top_level(body) if body.strip() else []:
        token = piece.strip()
        at = column + len(piece) - len(piece.lstrip())
        column += len(piece) + 1
        if token == "*":
            if keyword_only:
                raise SchemaError("'*' appears twice", at)
            keyword_only = True
            continue
        match = _ARG.match(token)
        if not match:
            raise SchemaError(f"bad argument {token!r}: expected 'Type name' or 'Type name=default'", at)
        argument = _argument(match, keyword_only, at)
        if argument.name in columns:
            raise SchemaError(f"argument {argument.name!r} appears twice", at + match.start("name"))
        columns[argument.name] = at
        arguments.append(argument)
    return tuple(arguments)


def _argument(match: re.Match, keyword_only: bool, column: int) -> Argument:
    raw_type, name, default = match.group("type"), match.group("name"), match.group("default")
    optional = raw_type.endswith("?")
    alias = match.group("alias") or ""
    base_type = raw_type.rstrip("?").replace(f"({alias})", "") if alias else raw_type.rstrip("?")
    if base_type == "Tensor?[]":  # a list of optional index tensors: an argument, not an input
        optional = False
    size = None
    sized = re.match(r"^(\w+)\[(\d+)\]$", base_type)
    if sized:
        base_type, size = sized.group(1) + "[]", int(sized.group(2))
    if base_type not in ARG_TYPES:
        raise SchemaError(f"unknown argument type {raw_type!r} (known: {', '.join(sorted(ARG_TYPES))})", column)
    value = None
    if default is not None:
        value = _default_value(default.strip(), base_type, optional, column + match.start("default"))
    return Argument(name, base_type, optional, size, default is not None, value, keyword_only, alias,
                    column + match.start("name"))


# The Python values a default of each type may be (None only where the type is optional, `T?`):
# the generated functions write them out with repr(), so each must be a literal of its type.
_DEFAULTS = {"Scalar": (int, float), "int": (int,), "float": (int, float), "bool": (bool,), "str": (str,),
             "int[]": (int, tuple), "bool[]": (bool, tuple)}
_ELEMENTS = {"int[]": int, "bool[]": bool}


def _default_value(text: str, arg_type: str, optional: bool, column: int) -> object:
    if arg_type == "int" and text in ("Mean", "Sum"):  # reductions, as in PyTorch's schemas
        return REDUCTIONS[text]
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, RecursionError, MemoryError):
        raise SchemaError(f"bad default {text!r}: expected a Python literal", column) from None
    value = tuple(value) if isinstance(value, list) else value
    if value is None:
        if not optional:
            raise SchemaError(f"default None for a {arg_type} that is not optional (write `{arg_type}?`)", column)
        return value
    allowed = _DEFAULTS.get(arg_type, ())
    element = _ELEMENTS.get(arg_type)
    if type(value) not in allowed or (type(value) is tuple and not all(type(v) is element for v in value)) \
            or (type(value) is bool and bool not in allowed):
        raise SchemaError(f"bad default {text!r}: not a literal of type {arg_type}", column)
    if type(value) is float and not math.isfinite(value):
        raise SchemaError(f"default {text} is not a finite number", column)
    return value


def _parse_returns(text: str, column: int) -> tuple[tuple[str, ...], tuple[str, ...], tuple[int, ...]]:
    """(output names, alias letter or '' per output, the column of each)."""
    tuple_form = text.startswith("(") and text.endswith(")")
    body, at = (text[1:-1], column + 1) if tuple_form else (text, column)
    names, aliases, columns = [], [], []
    for raw in body.split(","):
        piece = raw.strip()
        columns.append(at + len(raw) - len(raw.lstrip()))
        match = _RETURN.match(piece)
        if not match:
            raise SchemaError(f"bad return {piece!r}: expected 'Tensor' or 'Tensor name'", columns[-1])
        names.append(match.group("name") or "")
        aliases.append(match.group("alias") or "")
        at += len(raw) + 1
    if len(names) == 1 and not tuple_form:
        return (names[0] or "result",), tuple(aliases), tuple(columns)
    for name, at in zip(names, columns):
        if not name:
            raise SchemaError("every output of a tuple return needs a name: '(Tensor values, Tensor indices)'", at)
    return tuple(names), tuple(aliases), tuple(columns)
