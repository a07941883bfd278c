"""Spec validation: every error is a `codegen.SpecError` located as FILE:LINE:COL at the
offending token, with a message that says what is wrong.

Table-driven over tests/fixtures/bad/*.yaml: one fixture per error. Each fixture's first line
is a comment, so its first entry starts on line 2. Lines and columns are 1-based and were
counted by hand in the fixture; for a formula, column 1 of the formula text is the column of
its first character in the file (after the opening quote of a quoted scalar).

Two checks per fixture: that the error is reported at all (a SpecError whose message has the
fragment), and that it is reported at the right place. Known codegen bugs are strict xfails,
with the reason; when one is fixed the xfail turns into a failure: remove the mark.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from gradspec import codegen

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "fixtures" / "bad"
HELPERS = ROOT / "runtime" / "formulas.py"
KERNELS = ROOT / "runtime" / "kernels"

# Known bugs, shared by several cases.
MULTILINE = ("a formula spanning several lines is located from the scalar's start mark: wrong for block "
             "scalars (`|`, `>`, which start at the indicator) and for folded plain scalars")


@dataclass(frozen=True)
class Case:
    fixture: str
    line: int
    col: int
    fragment: str  # part of the message; "" for cases where no SpecError is raised yet
    location_bug: str = ""  # reason for a strict xfail of the location check
    detect_bug: str = ""  # reason for a strict xfail of both checks
    absent: str = ""  # a fragment the message must not contain

    @property
    def path(self) -> Path:
        return BAD / f"{self.fixture}.yaml"


CASES = [
    # names and keys
    Case("name_not_in_scope", 4, 16, "name 'bogus' is not in scope"),
    Case("key_scalar_argument", 5, 3, "formula key 'exponent' is not a tensor input of pow.Tensor_Scalar"),
    Case("key_unknown_input", 4, 3, "formula key 'other' is not a tensor input of exp"),
    Case("formula_then_non_differentiable", 5, 3, "input 'other' has more than one derivative key"),
    Case("non_differentiable_then_formula", 6, 3, "input 'condition' has more than one derivative key"),
    Case("duplicate_key", 5, 3, "key 'self' appears twice in one entry"),
    Case("shared_key_repeats_input", 4, 3, "key 'self, self' names an input twice"),
    Case("string_constant", 4, 16, "constant 'x' is not allowed"),
    Case("unknown_attribute", 4, 23, "unknown attribute .sizes"),
    Case("formula_not_a_string", 4, 9, "'self:' takes a formula (a string), not a sequence", absent="ScalarNode"),
    # syntax
    Case("syntax_error", 4, 16, "syntax error in formula: '(' was never closed"),
    Case("syntax_error_quoted", 4, 17, "syntax error in formula"),
    Case("multiline_literal", 6, 9, "name 'bogus' is not in scope", location_bug=MULTILINE),
    Case("multiline_folded", 6, 5, "name 'bogus' is not in scope", location_bug=MULTILINE),
    Case("multiline_plain", 5, 5, "name 'bogus' is not in scope", location_bug=MULTILINE),
    Case("yaml_error", 5, 1, "YAML error"),
    # schemas
    Case("duplicate_schema", 6, 9, "duplicate schema 'exp'; first defined at line 2"),
    Case("schema_missing_arrow", 2, 32, "schema has no '-> returns'"),
    Case("schema_bad_type", 2, 40, "unknown argument type 'Scalr'"),
    Case("schema_argument_without_name", 2, 13, "bad argument 'Tensor'"),
    Case("schema_bad_argument_name", 2, 26, "bad argument 'Tensor 2other'"),
    Case("schema_bad_default", 2, 53, "bad default '[1'"),
    Case("schema_bad_name", 2, 9, "bad operator name 'Exp'"),
    Case("schema_unclosed", 2, 9, "schema must look like 'name(args) -> returns'"),
    Case("schema_bad_return", 2, 29, "bad return 'Tensr'"),
    Case("schema_unnamed_tuple_return", 2, 58, "every output of a tuple return needs a name"),
    # at the repeated name (the offending token), as codegen/schema.py locates it since dc10d82
    Case("schema_duplicate_argument", 2, 33, "argument 'self' appears twice"),
    # outputs and grads
    Case("grads_out_of_range", 4, 9, "grads[2] is out of range: max.dim has 2 output(s)"),
    Case("grads_single_output", 4, 16, "grads[1] is out of range: exp has 1 output(s)"),
    Case("grad_ambiguous", 4, 9, "'grad' is ambiguous"),
    Case("output_differentiability_length", 5, 29, "output_differentiability has 2 flags for 1 outputs"),
    Case("formulas_for_non_differentiable_output", 2, 9, "formulas given for an op whose outputs are all"),
    Case("forward_mode_formula", 5, 3, "forward-mode formulas ('result:') are not supported"),
    # calls
    Case("unknown_helper", 4, 16, "unknown function or helper 'frobnicate'"),
    Case("unknown_method", 4, 23, "unknown method .frobnicate()"),
    Case("grad_input_mask_single_key", 4, 43, "grad_input_mask is only in scope in a key naming several inputs"),
    # forward and kernel
    Case("forward_calls_op", 3, 12, "a forward formula may only call xp.<function>"),
    Case("forward_calls_numpy", 3, 12, "a forward formula may only call xp.<function>"),
    Case("forward_xp_not_allowed", 3, 19, "xp.fft is not an allowed array function"),
    Case("forward_name_not_in_scope", 3, 19, "name 'bogus' is not in scope in a forward formula"),
    Case("unknown_kernel", 3, 11, "unknown kernel 'nope'"),
    Case("no_forward_no_kernel", 2, 9, "entry needs exactly one of a 'forward:' formula and a 'kernel:' name"),
    Case("forward_and_kernel", 4, 3, "entry needs exactly one of a 'forward:' formula and a 'kernel:' name"),
    # test hints
    Case("unknown_test_hint", 7, 5, "unknown test hint(s) ['bogus']"),
    Case("test_bad_domain", 6, 20, "test domain self: positiv"),
    Case("test_case_unknown_argument", 6, 21, "test case names unknown argument(s) ['alpha']"),
    Case("test_bad_order", 6, 12, "test order must be 1 or 2"),
    Case("test_not_a_mapping", 5, 9, "test: must be a mapping of hints"),
    Case("test_cases_not_a_list", 6, 12, "test cases must be a list of mappings"),
    Case("test_domain_not_a_mapping", 6, 13, "test domain must map input names to domains"),
    # calls checked against the signatures of ops and helpers
    Case("call_op_too_many_arguments", 4, 16, "no overload of exp takes 2 positional argument(s): exp(Tensor self)"),
    Case("call_op_unknown_keyword", 4, 16, "no overload of exp takes 1 positional argument(s) and the keyword(s) scale"),
    Case("call_op_missing_argument", 4, 16, "no overload of exp takes 0 positional argument(s)"),
    Case("call_method_too_many_arguments", 4, 16, "no overload of exp takes 2 positional argument(s)"),
    Case("call_helper_missing_argument", 4, 9, "helper maybe_multiply() misses 'alpha'"),
    Case("call_helper_unknown_keyword", 4, 9, "helper maybe_multiply() has no parameter 'beta'"),
    # forward formulas: attributes arrays have, and nothing written into an input
    Case("forward_unknown_attribute", 3, 33, "unknown attribute .sizee in a forward formula"),
    Case("forward_writes_input_positional", 3, 25, "xp.exp takes 1 positional argument(s) here, not 2"),
    Case("forward_writes_input_keyword", 3, 25, "xp.exp(..., out=...) is refused: it writes into an array"),
    # names the generated code uses itself
    Case("reserved_argument_node", 2, 40, "tensor input 'node' is a name the generated code uses itself"),
    Case("reserved_argument_requires_grad", 2, 31, "argument 'requires_grad' is a name the generated code uses"),
    Case("reserved_argument_keyword", 2, 30, "argument 'lambda' is a Python keyword"),
    Case("reserved_op_name", 2, 9, "op 'edge' is a name the generated code uses itself"),
    Case("output_named_like_input", 2, 63, "output 'self' has the name of an argument"),
    # every tensor input of a differentiable op has a key
    Case("missing_derivative_key", 2, 20, "tensor input 'self' has no derivative key"),
    # the file itself: empty, encoding, YAML features, size and depth
    Case("empty_spec", 1, 1, "the spec has no entries"),
    Case("not_utf8", 4, 29, "not UTF-8: byte 0xe9"),
    Case("utf16", 1, 1, "the spec is UTF-16 (it starts with a byte-order mark): save it as UTF-8"),
    Case("yaml_alias", 5, 9, "YAML aliases (*schema) are not allowed"),
    Case("yaml_alias_bomb", 8, 29, "YAML aliases (*a0) are not allowed"),
    Case("yaml_tag", 5, 25, "the YAML tag !!python/object/apply:os.system is not allowed"),
    Case("yaml_deep_nesting", 5, 46, "YAML nests more than 32 levels deep here"),
    Case("yaml_two_documents", 5, 1, "the spec is one YAML document"),
    Case("key_not_a_name", 4, 3, "a key must be a name (or names separated by commas), not a YAML sequence"),
    Case("deep_formula", 4, 9, "the formula nests more than 32 levels deep here"),
    Case("long_formula", 4, 9, "the formula is 4797 characters long, more than 2000"),
    Case("huge_literal", 4, 16, "the integer literal does not fit in 64 bits"),
    Case("infinite_literal", 4, 16, "the float literal overflows to infinity"),
    Case("schema_infinite_default", 2, 36, "default 1e999 is not a finite number"),
    Case("schema_default_wrong_type", 2, 34, "bad default \"'x'\": not a literal of type int"),
]
# Fixtures whose first lines are not a comment and an entry (no entry at all, or not UTF-8 text).
NOT_ENTRY_FIXTURES = {"empty_spec", "utf16"}


def _marks(case: Case, location: bool) -> list:
    reason = case.detect_bug or (case.location_bug if location else "")
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


def _load(path: Path):
    return codegen.load_spec(path, HELPERS, KERNELS)


def _error(case: Case) -> str:
    with pytest.raises(codegen.SpecError) as info:
        _load(case.path)
    return str(info.value)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.fixture, marks=_marks(c, False)) for c in CASES])
def test_error_is_reported(case: Case):
    message = _error(case)
    assert re.match(rf"{re.escape(case.path.name)}:\d+:\d+: ", message), message
    assert case.fragment in message
    if case.absent:
        assert case.absent not in message, message


@pytest.mark.parametrize("case", [pytest.param(c, id=c.fixture, marks=_marks(c, True)) for c in CASES])
def test_error_location(case: Case):
    message = _error(case)
    expected = f"{case.path.name}:{case.line}:{case.col}: "
    assert message.startswith(expected), f"expected {expected!r}, got {message!r}"


def test_every_fixture_has_a_case():
    assert sorted(p.stem for p in BAD.glob("*.yaml")) == sorted(c.fixture for c in CASES)
    assert len({c.fixture for c in CASES}) == len(CASES)


def test_fixtures_start_with_a_comment_line():
    """The hand-counted lines assume one comment line before the first entry."""
    for path in BAD.glob("*.yaml"):
        if path.stem in NOT_ENTRY_FIXTURES:
            continue
        lines = path.read_bytes().decode("utf-8", "replace").splitlines()
        assert lines[0].startswith("# ") and lines[1].startswith("- name: "), path.name


def test_error_names_the_entry():
    message = _error(next(c for c in CASES if c.fixture == "name_not_in_scope"))
    assert message.endswith("(in exp)"), message


def test_error_message_lists_what_is_in_scope():
    message = _error(next(c for c in CASES if c.fixture == "name_not_in_scope"))
    assert "in scope: grad, result, self" in message


def test_valid_spec_with_the_same_entry_loads(tmp_path):
    """The fixtures differ from a valid spec only in the error they show."""
    path = tmp_path / "derivatives.yaml"
    path.write_text("- name: exp(Tensor self) -> Tensor\n  forward: xp.exp(self)\n  self: grad * result\n")
    spec = _load(path)
    assert [e.node_name for e in spec.entries] == ["ExpBackward0"]


def test_real_spec_loads():
    spec = _load(ROOT / "derivatives.yaml")
    assert spec.entries


@pytest.mark.parametrize("make", ["missing", "folder"])
def test_unreadable_spec_paths_are_located_errors(tmp_path, make):
    path = tmp_path / "derivatives.yaml"
    if make == "folder":
        path.mkdir()
    with pytest.raises(codegen.SpecError, match=r"^derivatives.yaml:1:1: cannot read the spec: "
                                                r"(No such file or directory|Is a directory)$"):
        _load(path)


def test_a_spec_larger_than_the_bound_is_refused_unread(tmp_path, monkeypatch):
    from gradspec.codegen import source

    path = tmp_path / "derivatives.yaml"
    path.write_text("# padding\n" * 20 + (BAD / "name_not_in_scope.yaml").read_text())
    monkeypatch.setattr(source, "MAX_BYTES", 100)
    with pytest.raises(codegen.SpecError, match="^derivatives.yaml:1:1: the spec is larger than 100 bytes"):
        _load(path)


def test_a_nul_byte_is_located(tmp_path):
    path = tmp_path / "derivatives.yaml"
    path.write_bytes(b"- name: exp(Tensor self) -> Tensor\n  forward: xp.exp(self)\n  self: gr\x00ad\n")
    with pytest.raises(codegen.SpecError, match="^derivatives.yaml:3:11: a NUL byte"):
        _load(path)


def test_yaml_nested_a_hundred_thousand_deep_is_refused_without_crashing(tmp_path):
    """libyaml's composer recursed in C and took the process down (a segmentation fault). PyYAML
    6.0.4's libyaml parser stops at its own depth limit before codegen's check sees the events."""
    path = tmp_path / "derivatives.yaml"
    path.write_text("- name: exp(Tensor self) -> Tensor\n  forward: xp.exp(self)\n  self: grad * result\n"
                    "  test: {cases: " + "[" * 100_000 + "]" * 100_000 + "}\n")
    with pytest.raises(codegen.SpecError, match="YAML nests more than 32 levels deep|exceeded maximum nesting depth"):
        _load(path)


def test_cli_reports_a_missing_spec_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "codegen", "--spec", str(tmp_path / "none.yaml"), "--out",
                           str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr == "error: none.yaml:1:1: cannot read the spec: No such file or " \
                                                   "directory\n", proc.stderr


def test_cli_reports_error_with_location_and_exit_code_1(tmp_path):
    spec = tmp_path / "derivatives.yaml"
    spec.write_text((BAD / "name_not_in_scope.yaml").read_text())
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "codegen", "--standalone", "--spec", str(spec), "--out",
                           str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: derivatives.yaml:4:16: name 'bogus' is not in scope"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists(), "nothing may be written when the spec has an error"


def test_cli_check_mode_reports_error_too(tmp_path):
    spec = tmp_path / "derivatives.yaml"
    spec.write_text((BAD / "unknown_kernel.yaml").read_text())
    proc = subprocess.run([sys.executable, "-m", "codegen", "--standalone", "--spec", str(spec), "--out",
                           str(tmp_path), "--check"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: derivatives.yaml:3:11: unknown kernel 'nope'"), proc.stderr
