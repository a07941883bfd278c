"""What the installed cupy accepts: its names, and the parameters of its functions and methods.

Python functions give their signature to `inspect`; cupy's Cython methods and ufunc methods
write theirs as the first line of the docstring (`_ndarray_base.sum(self, axis=None, ...)`),
which is parsed with `ast`. A call is checked against the signature before numpy runs it, so
that a keyword cupy does not take (`as_strided(..., writeable=False)`) fails here as on a GPU.
"""

from __future__ import annotations

import ast
import inspect
import re

_FIRST_LINE = re.compile(r"^[\w.]*?\w+\((?P<params>.*)\)\s*(->.*)?$")
_C_TYPE = re.compile(r"(?<![\w*=.'])[A-Za-z_]\w*\s+(?=\*{0,2}[A-Za-z_])")  # Cython's `int axis=-1`
_KINDS = inspect.Parameter


def signature(obj) -> inspect.Signature | None:
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        pass
    lines = (getattr(obj, "__doc__", None) or "").strip().splitlines()
    match = _FIRST_LINE.match(lines[0].strip()) if lines else None
    if match is None:
        return None
    try:
        params = _C_TYPE.sub("", match["params"].replace("\\*", "*"))
        arguments = ast.parse(f"def f({params}): pass").body[0].args
    except SyntaxError:
        return None
    parameters = [_KINDS(a.arg, _KINDS.POSITIONAL_ONLY) for a in arguments.posonlyargs]
    parameters += [_KINDS(a.arg, _KINDS.POSITIONAL_OR_KEYWORD) for a in arguments.args]
    if arguments.vararg:
        parameters.append(_KINDS(arguments.vararg.arg, _KINDS.VAR_POSITIONAL))
    parameters += [_KINDS(a.arg, _KINDS.KEYWORD_ONLY) for a in arguments.kwonlyargs]
    if arguments.kwarg:
        parameters.append(_KINDS(arguments.kwarg.arg, _KINDS.VAR_KEYWORD))
    return inspect.Signature(parameters)


class ArgumentCheck:
    """Refuses a call that the signature does not admit: too many positional arguments, or a
    keyword it does not name (Python's own messages). `bound`: the first parameter (self) is
    supplied by the method binding."""

    __slots__ = ("qualname", "positional", "keywords", "any_positional", "any_keyword")

    def __init__(self, qualname: str, sig: inspect.Signature, bound: bool = False):
        params = list(sig.parameters.values())[1 if bound else 0:]
        self.qualname = qualname
        self.positional = sum(p.kind in (_KINDS.POSITIONAL_ONLY, _KINDS.POSITIONAL_OR_KEYWORD) for p in params)
        self.keywords = frozenset(p.name for p in params if p.kind in (_KINDS.POSITIONAL_OR_KEYWORD,
                                                                        _KINDS.KEYWORD_ONLY))
        self.any_positional = any(p.kind is _KINDS.VAR_POSITIONAL for p in params)
        self.any_keyword = any(p.kind is _KINDS.VAR_KEYWORD for p in params)

    def __call__(self, args: tuple, kwargs: dict) -> None:
        if len(args) > self.positional and not self.any_positional:
            raise TypeError(f"{self.qualname}() takes {self.positional} positional arguments but {len(args)} "
                            f"were given")
        if not self.any_keyword:
            for key in kwargs:
                if key not in self.keywords:
                    raise TypeError(f"{self.qualname}() got an unexpected keyword argument '{key}'")


def check_for(qualname: str, obj, bound: bool = False) -> ArgumentCheck | None:
    """The check for `obj` (a cupy function or method), None where cupy states no signature."""
    sig = signature(obj)
    return None if sig is None else ArgumentCheck(qualname, sig, bound)
