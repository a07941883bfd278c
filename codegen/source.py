"""Reading a spec file into YAML nodes, every problem located as FILE:LINE:COL.

The file is read as bytes (at most MAX_BYTES), decoded as UTF-8 (a byte-order mark of another
encoding, a NUL byte or an invalid sequence is reported where it is), then composed into nodes
from libyaml's events by the loop below rather than by yaml.compose, so that:

* nesting is bounded (MAX_DEPTH): libyaml's own composer recurses in C and crashes the process
  on deep flow collections (`[[[[...`);
* aliases are refused where they occur: a few lines of aliases can stand for billions of nodes;
* tags are YAML's core ones only (strings, numbers, booleans, null, lists, mappings); an explicit
  other tag (`!!python/object`, `!!binary`) is refused, and a plain scalar that YAML would read as
  a timestamp or a merge key stays a string;
* a file holds one document.

The nodes are PyYAML's (ScalarNode, SequenceNode, MappingNode) with their marks, as
yaml.compose would make them, in about the same time.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .model import SpecError

MAX_BYTES = 16 << 20  # derivatives.yaml is 50 KB; 8,000 entries are 2.5 MB
MAX_DEPTH = 32  # how deep YAML collections may nest (the spec's own nest 7 deep)
CORE = "tag:yaml.org,2002:"
_CORE_TAGS = {CORE + name for name in ("str", "int", "float", "bool", "null", "seq", "map")}
_BYTE_ORDER_MARKS = ((b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe\x00\x00", "UTF-32"), (b"\xfe\xff", "UTF-16"),
                     (b"\xff\xfe", "UTF-16"))
# libyaml's parser where PyYAML was built with it (most wheels are): ten times faster than Python's.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER = yaml.SafeLoader("")  # resolves implicit tags, as yaml.compose does


def read_nodes(path: Path, shown: str) -> yaml.Node | None:
    """The root node of the spec at `path` (None for a file with no document); `shown` names
    the file in errors."""
    return compose(decode(read_bytes(path, shown), shown), shown)


def read_bytes(path: Path, shown: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as error:
        raise SpecError(shown, 1, 1, f"cannot read the spec: {error.strerror or error}") from None
    if len(raw) > MAX_BYTES:
        raise SpecError(shown, 1, 1, f"the spec is larger than {MAX_BYTES} bytes, the most codegen reads")
    return raw


def decode(raw: bytes, shown: str) -> str:
    for mark, encoding in _BYTE_ORDER_MARKS:
        if raw.startswith(mark):
            raise SpecError(shown, 1, 1, f"the spec is {encoding} (it starts with a byte-order mark): save it as UTF-8")
    if b"\x00" in raw:
        raise _at_byte(shown, raw, raw.index(b"\x00"), "a NUL byte: the spec must be UTF-8 text (is it UTF-16?)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _at_byte(shown, raw, error.start, f"not UTF-8: byte 0x{raw[error.start]:02x} ({error.reason}); the "
                       "spec must be UTF-8 text") from None


def _at_byte(shown: str, raw: bytes, offset: int, message: str) -> SpecError:
    line_start = raw.rfind(b"\n", 0, offset) + 1
    column = len(raw[line_start:offset].decode("utf-8", "replace")) + 1
    return SpecError(shown, raw.count(b"\n", 0, offset) + 1, column, message)


def compose(text: str, shown: str) -> yaml.Node | None:
    """yaml.compose's nodes, built from the parser's events with the checks of the module docstring."""
    stack: list[list] = []  # [collection node, the key waiting for its value (mappings)]
    root, documents = None, 0

    def fail(mark, message: str) -> SpecError:
        return SpecError(shown, mark.line + 1, mark.column + 1, message)

    try:
        for event in yaml.parse(text, Loader=_LOADER):
            kind = type(event)
            if kind is yaml.ScalarEvent:
                node = yaml.ScalarNode(_tag(event, yaml.ScalarNode, fail), event.value, event.start_mark,
                                       event.end_mark, event.style)
            elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                if len(stack) >= MAX_DEPTH:
                    raise fail(event.start_mark, f"YAML nests more than {MAX_DEPTH} levels deep here")
                node_class = yaml.SequenceNode if kind is yaml.SequenceStartEvent else yaml.MappingNode
                stack.append([node_class(_tag(event, node_class, fail), [], event.start_mark, None,
                                         event.flow_style), None])
                continue
            elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
                node = stack.pop()[0]
                node.end_mark = event.end_mark
            elif kind is yaml.AliasEvent:
                raise fail(event.start_mark, f"YAML aliases (*{event.anchor}) are not allowed: a few of them can "
                           "stand for billions of nodes; write the value out")
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise fail(event.start_mark, "the spec is one YAML document: remove the second '---'")
                continue
            else:
                continue
            if not stack:
                root = node
            elif type(stack[-1][0]) is yaml.SequenceNode:
                stack[-1][0].value.append(node)
            elif stack[-1][1] is None:
                stack[-1][1] = node
            else:
                stack[-1][0].value.append((stack[-1][1], node))
                stack[-1][1] = None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise SpecError(shown, line, col, f"YAML error: {getattr(error, 'problem', error)}") from None
    return root


def _tag(event, node_class, fail) -> str:
    """The node's tag: an explicit core tag, or the one YAML's core schema resolves (a string where
    it would resolve to a timestamp, a merge key or `=`)."""
    tag = event.tag
    if tag is not None and tag != "!":
        if tag not in _CORE_TAGS:
            raise fail(event.start_mark, f"the YAML tag {tag.replace(CORE, '!!')} is not allowed: the spec holds "
                       "strings, numbers, booleans, null, lists and mappings only")
        return tag
    value = event.value if node_class is yaml.ScalarNode else None
    resolved = _RESOLVER.resolve(node_class, value, event.implicit)
    return resolved if resolved in _CORE_TAGS else CORE + "str"
