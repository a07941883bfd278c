"""A fast part of the corpus (corpus/, `make corpus` runs all of it): public PyTorch scripts, as
published upstream with their recorded edits, print under gradspec what torch 2.13 printed
(recorded in corpus/expected/). Needs no torch; needs the upstream texts cached
(`python -m corpus --fetch`): the repository does not hold them, and without them these skip."""

import pytest

from corpus import harness

FAST = ["tut_polynomial_tensor", "tut_polynomial_custom_function", "jcj_two_layer_net_nn",
        "blitz_tensor_tutorial", "basics_tensorqs_tutorial", "basics_autogradqs_tutorial",
        "nlp_pytorch_tutorial", "nlp_deep_learning_tutorial", "recipe_what_is_state_dict",
        "makemore_part1_bigrams", "micrograd_test_engine", "ex_word_language_model"]


@pytest.mark.parametrize("name", FAST)
def test_script_prints_what_torch_printed(name):
    (script,) = [s for s in harness.scripts([name]) if s.name == name]
    reason = harness.unrunnable(script)
    if reason:
        pytest.skip(reason)
    outcome = harness.check(script, "recorded")
    assert outcome.passed, outcome.blocker
