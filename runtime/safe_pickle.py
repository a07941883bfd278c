"""Pickles as data only: a restricted unpickler, and a writer of the same subset.

`loads` is a pickle virtual machine written out here, not `pickle.Unpickler` with a `find_class`
hook: that one still runs INST, OBJ, NEWOBJ and BUILD on whatever class a global names, and
calls `extend`/`append`/`__setstate__` found on the objects it builds. Here every opcode run is
one listed below, the data opcodes of protocols 0 to 5 (numbers, strings, bytes, None and
booleans, lists, tuples, dicts, sets, the memo, marks), and code is reached only through the
caller's `allowed` table: a global the pickle names ("module.name") must be a key of it, and what
it maps to is either a value (a dtype, say) or a `Function`, which REDUCE may call with the
arguments the pickle gives, and which checks them. BUILD and persistent ids go to the caller's
callbacks. Anything else (another global, INST, OBJ, NEWOBJ, EXT, out-of-band buffers, APPEND to
something not a list, ...) is an UnpicklingError that names it, as is every malformed or
truncated pickle. So loading a pickle runs no code the pickle chose, as torch's
`weights_only=True` unpickler (torch/_weights_only_unpickler.py) does. The one widening is the
caller's `callables`, torch's `safe_globals`: classes and functions the user named, which
REDUCE may call and NEWOBJ instantiate (`cls.__new__`), as torch's unpickler allows them.

The machine loops over opcodes without recursion, and every length it reads is checked against
the bytes left, so no pickle can make it recurse or allocate more than the data it holds.

`dumps` writes the same subset (protocol 2, as torch.save), asking the caller's `reduce` how to
write objects of other types: as a global, a call of a global, a persistent id, or as pickle
would (AS_PICKLE: what gradspec.save writes for objects other than data, as torch.save does;
such a file loads only where the loader is told to allow their classes, or trusts the file).
"""

from __future__ import annotations

import codecs
import copyreg
import pickle
import struct
import sys
import types
from collections import OrderedDict

__all__ = ["Function", "Global", "Call", "PersistentId", "AS_PICKLE", "loads", "dumps", "UnpicklingError"]

UnpicklingError = pickle.UnpicklingError

_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}  # protocol <= 2 pickles name these
_REFUSED = {
    b"i": "INST (creates an object of any class)", b"o": "OBJ (creates an object of any class)",
    b"\x81": "NEWOBJ (creates an object of any class)", b"\x92": "NEWOBJ_EX (creates an object of any class)",
    b"\x82": "EXT1 (the extension registry)", b"\x83": "EXT2 (the extension registry)",
    b"\x84": "EXT4 (the extension registry)", b"\x97": "NEXT_BUFFER (out-of-band data)",
    b"\x98": "READONLY_BUFFER (out-of-band data)",
}


class Function:
    """An allowed global that REDUCE may call as `function(*args)`; it must check its arguments and
    raise UnpicklingError for ones it does not accept."""

    __slots__ = ("name", "function")

    def __init__(self, name: str, function):
        self.name, self.function = name, function

    def __repr__(self) -> str:
        return f"<allowed function {self.name}>"


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Machine:
    def __init__(self, data: bytes, pos: int, allowed: dict, persistent_load, build, callables=()):
        self.data, self.pos = data, pos
        self.allowed, self.persistent_load, self.build = allowed, persistent_load, build
        self.callables = {id(value) for value in callables}
        self.stack: list = []
        self.metastack: list = []
        self.memo: dict = {}

    # -- reading ----------------------------------------------------------------------------------
    def read(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise UnpicklingError(f"the pickle is truncated: {n} bytes needed at byte {self.pos}, "
                                  f"{len(self.data) - self.pos} left")
        chunk, self.pos = self.data[self.pos:end], end
        return chunk

    def unpack(self, fmt: str):
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self.read(size))[0]

    def readline(self) -> bytes:
        end = self.data.find(b"\n", self.pos)
        if end < 0:
            raise UnpicklingError(f"the pickle is truncated: a line starting at byte {self.pos} never ends")
        line, self.pos = self.data[self.pos:end], end + 1
        return line

    def pop_mark(self) -> list:
        if not self.metastack:
            raise UnpicklingError("the pickle closes a MARK it never opened")
        items, self.stack = self.stack, self.metastack.pop()
        return items

    def push(self, value) -> None:
        self.stack.append(value)  # (not a bound append kept across opcodes: MARK swaps the stack)

    def pop(self):
        if not self.stack:
            raise UnpicklingError("the pickle pops from an empty stack")
        return self.stack.pop()

    def top(self):
        if not self.stack:
            raise UnpicklingError("the pickle reads from an empty stack")
        return self.stack[-1]

    # -- objects ------------------------------------------------------------------------------------
    def global_(self, module: str, name: str):
        module = _PY2_MODULES.get(module, module)
        key = f"{module}.{name}"
        if key not in self.allowed:
            raise UnpicklingError(f"refused the global {_short(key)[1:-1]}: it is not one of the "
                                  f"{len(self.allowed)} names this loader allows")
        return self.allowed[key]

    def reduce(self):
        args = self.pop()
        function = self.top()
        if id(function) in self.callables:  # a global the caller allowed itself (safe_globals)
            function = Function(f"{function.__module__}.{function.__qualname__}", function)
        if not isinstance(function, Function):
            raise UnpicklingError(f"REDUCE calls {_short(function)}, which is not an allowed function")
        if type(args) is not tuple:
            raise UnpicklingError(f"REDUCE gives {function.name} arguments that are not a tuple")
        try:
            self.stack[-1] = function.function(*args)
        except TypeError as error:
            raise UnpicklingError(f"{function.name} called with {len(args)} arguments: {error}") from None

    def new_object(self):
        """NEWOBJ: `cls.__new__(cls, *args)`, for a class the caller allowed (safe_globals) only."""
        args = self.pop()
        cls = self.pop()
        if id(cls) not in self.callables or not isinstance(cls, type):
            raise UnpicklingError(f"refused the opcode NEWOBJ on {_short(cls)}, which is not a class this loader "
                                  "was told to allow")
        if type(args) is not tuple:
            raise UnpicklingError(f"NEWOBJ gives {cls.__qualname__} arguments that are not a tuple")
        self.push(cls.__new__(cls, *args))

    def container(self, kind):
        target = self.top()
        if type(target) not in kind:
            raise UnpicklingError(f"the pickle adds items to a {type(target).__name__}, not a "
                                  f"{' or '.join(k.__name__ for k in kind)}")
        return target

    def memo_get(self, index: int):
        if index not in self.memo:
            raise UnpicklingError(f"the pickle reads memo entry {index}, which it never stored")
        self.stack.append(self.memo[index])

    def memo_put(self, index: int):
        self.memo[index] = self.top()

    def text_string(self, line: bytes) -> str:
        if len(line) < 2 or line[:1] != line[-1:] or line[:1] not in (b"'", b'"'):
            raise UnpicklingError("a STRING opcode's argument is not quoted")
        return codecs.escape_decode(line[1:-1])[0].decode("ascii")

    def run(self):
        while True:
            start = self.pos
            op = self.read(1)
            try:
                if self.step(op):
                    return self.pop()
            except UnpicklingError as error:
                raise UnpicklingError(f"at byte {start}: {error}") from None
            except (ValueError, TypeError, OverflowError, struct.error) as error:  # bad arguments in the data
                raise UnpicklingError(f"at byte {start} (opcode {op!r}): {error}") from None

    def step(self, op: bytes) -> bool:
        """Run one opcode; True at STOP."""
        push = self.push
        if op == b".":  # STOP
            return True
        if op == b"\x80":  # PROTO
            version = self.read(1)[0]
            if version > 5:
                raise UnpicklingError(f"unsupported pickle protocol {version}")
        elif op == b"\x95":  # FRAME: only a hint for buffering
            self.read(8)
        elif op == b"(":  # MARK
            self.metastack.append(self.stack)
            self.stack = []
        elif op == b"0":  # POP
            if self.stack:
                self.stack.pop()
            else:
                self.pop_mark()
        elif op == b"1":  # POP_MARK
            self.pop_mark()
        elif op == b"2":  # DUP
            push(self.top())
        elif op == b"N":
            push(None)
        elif op == b"\x88":
            push(True)
        elif op == b"\x89":
            push(False)
        elif op == b"J":  # BININT
            push(self.unpack("<i"))
        elif op == b"K":  # BININT1
            push(self.read(1)[0])
        elif op == b"M":  # BININT2
            push(self.unpack("<H"))
        elif op == b"\x8a":  # LONG1
            push(int.from_bytes(self.read(self.read(1)[0]), "little", signed=True))
        elif op == b"\x8b":  # LONG4
            push(int.from_bytes(self.read(self.unpack("<i")), "little", signed=True))
        elif op == b"I":  # INT (protocol 0; "00"/"01" are the booleans)
            line = self.readline()
            push({b"00": False, b"01": True}[line] if line in (b"00", b"01") else int(line))
        elif op == b"L":  # LONG (protocol 0)
            line = self.readline()
            push(int(line[:-1] if line.endswith(b"L") else line))
        elif op == b"G":  # BINFLOAT
            push(self.unpack(">d"))
        elif op == b"F":  # FLOAT (protocol 0)
            push(float(self.readline()))
        elif op == b"X":  # BINUNICODE
            push(str(self.read(self.unpack("<I")), "utf-8", "surrogatepass"))
        elif op == b"\x8c":  # SHORT_BINUNICODE
            push(str(self.read(self.read(1)[0]), "utf-8", "surrogatepass"))
        elif op == b"\x8d":  # BINUNICODE8
            push(str(self.read(self.unpack("<Q")), "utf-8", "surrogatepass"))
        elif op == b"V":  # UNICODE (protocol 0)
            push(str(self.readline(), "raw-unicode-escape"))
        elif op == b"S":  # STRING (protocol 0), read as pickle does by default (ASCII)
            push(self.text_string(self.readline()))
        elif op == b"T":  # BINSTRING
            push(self.read(self.unpack("<i")).decode("ascii"))
        elif op == b"U":  # SHORT_BINSTRING
            push(self.read(self.read(1)[0]).decode("ascii"))
        elif op == b"B":  # BINBYTES
            push(self.read(self.unpack("<I")))
        elif op == b"C":  # SHORT_BINBYTES
            push(self.read(self.read(1)[0]))
        elif op == b"\x8e":  # BINBYTES8
            push(self.read(self.unpack("<Q")))
        elif op == b"\x96":  # BYTEARRAY8
            push(bytearray(self.read(self.unpack("<Q"))))
        elif op == b"]":
            push([])
        elif op == b")":
            push(())
        elif op == b"}":
            push({})
        elif op == b"\x8f":  # EMPTY_SET
            push(set())
        elif op == b"l":  # LIST
            push(self.pop_mark())
        elif op == b"t":  # TUPLE
            push(tuple(self.pop_mark()))
        elif op == b"\x85":  # TUPLE1
            push((self.pop(),))
        elif op == b"\x86":  # TUPLE2
            second, first = self.pop(), self.pop()
            push((first, second))
        elif op == b"\x87":  # TUPLE3
            third, second, first = self.pop(), self.pop(), self.pop()
            push((first, second, third))
        elif op == b"d":  # DICT
            items = self.pop_mark()
            push(dict(zip(items[::2], items[1::2])))
        elif op == b"\x91":  # FROZENSET
            push(frozenset(self.pop_mark()))
        elif op == b"a":  # APPEND
            value = self.pop()
            self.container((list,)).append(value)
        elif op == b"e":  # APPENDS
            items = self.pop_mark()
            self.container((list,)).extend(items)
        elif op == b"s":  # SETITEM
            value, key = self.pop(), self.pop()
            self.container((dict, OrderedDict))[key] = value
        elif op == b"u":  # SETITEMS
            items = self.pop_mark()
            if len(items) % 2:
                raise UnpicklingError("SETITEMS with an odd number of items")
            target = self.container((dict, OrderedDict))
            for i in range(0, len(items), 2):
                target[items[i]] = items[i + 1]
        elif op == b"\x90":  # ADDITEMS
            items = self.pop_mark()
            self.container((set,)).update(items)
        elif op == b"q":  # BINPUT
            self.memo_put(self.read(1)[0])
        elif op == b"r":  # LONG_BINPUT
            self.memo_put(self.unpack("<I"))
        elif op == b"p":  # PUT
            self.memo_put(int(self.readline()))
        elif op == b"\x94":  # MEMOIZE
            self.memo_put(len(self.memo))
        elif op == b"h":  # BINGET
            self.memo_get(self.read(1)[0])
        elif op == b"j":  # LONG_BINGET
            self.memo_get(self.unpack("<I"))
        elif op == b"g":  # GET
            self.memo_get(int(self.readline()))
        elif op == b"c":  # GLOBAL
            module = self.readline().decode("utf-8")
            push(self.global_(module, self.readline().decode("utf-8")))
        elif op == b"\x93":  # STACK_GLOBAL
            name, module = self.pop(), self.pop()
            if type(module) is not str or type(name) is not str:
                raise UnpicklingError("STACK_GLOBAL with a module or name that is not a string")
            push(self.global_(module, name))
        elif op == b"R":  # REDUCE
            self.reduce()
        elif op == b"\x81" and self.callables:  # NEWOBJ
            self.new_object()
        elif op == b"b":  # BUILD
            state = self.pop()
            if self.build is None:
                raise UnpicklingError(f"BUILD on {_short(self.top())} is not allowed")
            self.build(self.top(), state)
        elif op == b"Q":  # BINPERSID
            self.persistent(self.pop())
        elif op == b"P":  # PERSID
            self.persistent(self.readline().decode("ascii"))
        elif op in _REFUSED:
            raise UnpicklingError(f"refused the opcode {_REFUSED[op]}")
        else:
            raise UnpicklingError(f"unknown opcode {op!r}: not a pickle, or a damaged one")
        return False

    def persistent(self, pid):
        if self.persistent_load is None:
            raise UnpicklingError("the pickle refers to outside data (a persistent id), which is not allowed here")
        self.stack.append(self.persistent_load(pid))


def loads(data: bytes, allowed: dict, persistent_load=None, build=None, start: int = 0, callables=()) -> tuple:
    """(object, end): the pickle in `data` from byte `start` on, and where it ended (see the module
    docstring). `persistent_load(pid)` resolves persistent ids; `build(obj, state)` performs BUILD.
    `callables`: values of `allowed` that the caller trusts as torch's `safe_globals`: REDUCE may
    call them, and NEWOBJ instantiate those that are classes (`cls.__new__(cls, *args)`)."""
    machine = _Machine(bytes(data), start, allowed, persistent_load, build, callables)
    result = machine.run()
    return result, machine.pos


# ---- writing --------------------------------------------------------------------------------------

class Global:
    """Write a global by name ("module name", as GLOBAL spells it)."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


class Call:
    """Write a call of a global with arguments (GLOBAL, the argument tuple, REDUCE), and optionally a
    BUILD with `state`."""

    __slots__ = ("name", "args", "state")

    def __init__(self, name: str, args: tuple, state=None):
        self.name, self.args, self.state = name, args, state


class PersistentId:
    """Write a persistent id (BINPERSID): a reference to data stored outside the pickle."""

    __slots__ = ("pid",)

    def __init__(self, pid):
        self.pid = pid


class AsPickle:
    """`reduce`'s answer for an object to write as pickle would: a class or function by its name
    (GLOBAL), anything else by its `__reduce_ex__(2)` (NEWOBJ or REDUCE, then its items and BUILD)."""


AS_PICKLE = AsPickle()


def _global_name(obj, name: str | None = None) -> str:
    """GLOBAL's "module name" of a class or function, once `module.name` finds that very object."""
    module = getattr(obj, "__module__", None)
    name = name or getattr(obj, "__qualname__", None)
    found = getattr(sys.modules.get(module or ""), name or "", None) if name and "." not in name else None
    if found is not obj:
        raise TypeError(f"cannot pickle {_short(obj)}: it is not found as {module}.{name} (a local or nested "
                        "object, or one that was replaced)")
    return f"{module} {name}"


class _Writer:
    def __init__(self, reduce, max_depth: int):
        self.reduce, self.max_depth, self.depth = reduce, max_depth, 0
        self.out = bytearray(b"\x80\x02")
        self.memo: dict[int, int] = {}
        self.globals: dict[str, int] = {}
        self.keep_alive: list = []  # ids stay unique while the objects live

    def remember(self, obj) -> None:
        index = len(self.memo) + len(self.globals)
        self.memo[id(obj)] = index
        self.keep_alive.append(obj)
        self.put(index)

    def put(self, index: int) -> None:
        self.out += b"q" + bytes([index]) if index < 256 else b"r" + struct.pack("<I", index)

    def get(self, index: int) -> None:
        self.out += b"h" + bytes([index]) if index < 256 else b"j" + struct.pack("<I", index)

    def global_(self, name: str) -> None:
        if name in self.globals:
            self.get(self.globals[name])
            return
        module, _, attr = name.partition(" ")
        self.out += b"c" + module.encode() + b"\n" + attr.encode() + b"\n"
        self.globals[name] = len(self.memo) + len(self.globals)
        self.put(self.globals[name])

    def save(self, obj) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise ValueError(f"cannot write objects nested more than {self.max_depth} levels deep")
        self.save_value(obj)
        self.depth -= 1

    def save_value(self, obj) -> None:
        out = self.out
        if obj is None:
            out += b"N"
        elif obj is True or obj is False:
            out += b"\x88" if obj else b"\x89"
        elif type(obj) is int:
            if 0 <= obj < 256:
                out += b"K" + bytes([obj])
            elif 0 <= obj < 65536:
                out += b"M" + struct.pack("<H", obj)
            elif -(1 << 31) <= obj < 1 << 31:
                out += b"J" + struct.pack("<i", obj)
            else:
                raw = obj.to_bytes((obj.bit_length() + 8) // 8, "little", signed=True)
                out += b"\x8a" + bytes([len(raw)]) + raw if len(raw) < 256 else b"\x8b" + struct.pack("<i", len(raw)) + raw
        elif type(obj) is float:
            out += b"G" + struct.pack(">d", obj)
        elif type(obj) is str:
            raw = obj.encode("utf-8", "surrogatepass")
            out += b"X" + struct.pack("<I", len(raw)) + raw
        elif isinstance(obj, Global):
            self.global_(obj.name)
        elif id(obj) in self.memo:
            self.get(self.memo[id(obj)])
        elif type(obj) is tuple:
            self.save_tuple(obj)
        elif type(obj) is list:
            out += b"]"
            self.remember(obj)
            self.save_items(obj, b"e")
        elif type(obj) in (dict, OrderedDict):
            if type(obj) is OrderedDict:
                self.global_("collections OrderedDict")
                out += b")R"
            else:
                out += b"}"
            self.remember(obj)
            self.save_items([x for pair in obj.items() for x in pair], b"u")
            metadata = getattr(obj, "_metadata", None)
            if type(obj) is OrderedDict and metadata is not None:
                self.save({"_metadata": metadata})
                out += b"b"
        else:
            self.save_reduced(obj, self.reduce(obj))

    def save_tuple(self, obj: tuple) -> None:
        if not obj:
            self.out += b")"
            return
        if len(obj) > 3:
            self.out += b"("
        for item in obj:
            self.save(item)
        self.out += b"t" if len(obj) > 3 else b"\x85\x86\x87"[len(obj) - 1:len(obj)]

    def save_items(self, items: list, opcode: bytes) -> None:
        if items:
            self.out += b"("
            for item in items:
                self.save(item)
            self.out += opcode

    def save_reduced(self, obj, how) -> None:
        if how is AS_PICKLE:
            self.save_as_pickle(obj)
            return
        if isinstance(how, PersistentId):
            self.save(how.pid)
            self.out += b"Q"
        elif isinstance(how, Call):
            self.global_(how.name)
            self.save(how.args)
            self.out += b"R"
            if how.state is not None:
                self.save(how.state)
                self.out += b"b"
        else:  # a plain value written in the object's place
            self.save(how)
            return
        self.remember(obj)


    def save_as_pickle(self, obj) -> None:
        if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
            self.global_(_global_name(obj))
            return
        reduced = obj.__reduce_ex__(2)
        if isinstance(reduced, str):  # a module-level singleton, by name
            self.global_(_global_name(obj, reduced))
            return
        function, args, state, items, pairs = (*reduced, None, None, None)[:5]
        if function is copyreg.__newobj__:
            self.global_(_global_name(args[0]))
            self.save(tuple(args[1:]))
            self.out += b"\x81"
        else:
            self.global_(_global_name(function))
            self.save(args)
            self.out += b"R"
        self.remember(obj)
        if items is not None:
            self.save_items(list(items), b"e")
        if pairs is not None:
            self.save_items([x for pair in pairs for x in pair], b"u")
        if state is not None:
            self.save(state)
            self.out += b"b"


def dumps(obj, reduce, max_depth: int = 100) -> bytes:
    """A protocol-2 pickle of `obj`: None, bools, ints, floats, strings, tuples, lists, dicts and
    OrderedDicts (with their `_metadata`) and Globals are written directly; for anything else
    `reduce(obj)` returns a Call, a PersistentId, a plain value to write instead, or AS_PICKLE (or
    raises TypeError). Shared objects are written once and referenced through the memo."""
    writer = _Writer(reduce, max_depth)
    writer.save(obj)
    writer.out += b"."
    return bytes(writer.out)
