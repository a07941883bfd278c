"""Per-step time of the character-level GPT (gradspec.examples.chargpt), gradspec against PyTorch.

    make bench-gpt      (one thread; OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset for this command)

Both sides build gradspec.models.gpt at the example's default size (4 layers, 4 heads, 128
wide, blocks of 64 characters, batches of 16) from the same initial state_dict, and run the same
training step (forward, cross-entropy, backward, gradient clipping, AdamW) on the same batches,
one thread each, in one process, taking turns round by round so that machine noise hits both
alike. The report gives the median per-step time of each and the ratio. `--losses 20` first
prints both frameworks' losses over 20 training steps from that same start (a fresh model each).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import gradspec  # noqa: E402
from gradspec.examples import chargpt  # noqa: E402
from gradspec.models.gpt import GPTConfig  # noqa: E402


class Side:
    """One framework's model, optimizer and batches; `steps(n)` returns seconds per step."""

    def __init__(self, lib, config: GPTConfig, state: dict, batches: list) -> None:
        self.lib = lib
        self.model, self.optimizer = chargpt.make_model(lib, config, 1e-3)
        self.model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
        self.batches = [(lib.tensor(x), lib.tensor(y)) for x, y in batches]

    def steps(self, n: int) -> float:
        start = time.perf_counter()
        for i in range(n):
            x, y = self.batches[i % len(self.batches)]
            chargpt.train_step(self.lib, self.model, self.optimizer, x, y, 1.0)
        return (time.perf_counter() - start) / n


def _print_losses(gradspec, torch, config, state, data, args) -> None:
    gradspec.manual_seed(1)
    batches = [tuple(t.numpy() for t in chargpt.get_batch(gradspec, data, config.block_size, args.batch_size))
               for _ in range(args.losses)]
    sides = [Side(gradspec, config, state, batches), Side(torch, config, state, batches)]
    print(f"{'step':>4} {'gradspec loss':>14} {'torch loss':>11} {'difference':>11}")
    for step, batch in enumerate(batches, 1):
        ours, theirs = (chargpt.train_step(side.lib, side.model, side.optimizer, *side.batches[step - 1], 1.0).item()
                        for side in sides)
        print(f"{step:>4} {ours:>14.6f} {theirs:>11.6f} {ours - theirs:>+11.1e}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10, help="steps per round")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--losses", type=int, default=0, help="print this many steps' losses of both first")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: nothing to compare with (pip install torch)", file=sys.stderr)
        return 1
    torch.set_num_threads(1)
    text = chargpt.load_text()
    tokenizer = chargpt.CharTokenizer(text)
    config = GPTConfig(vocab_size=tokenizer.vocab_size)
    data = gradspec.tensor(tokenizer.encode(text))
    gradspec.manual_seed(0)
    batches = [tuple(t.numpy() for t in chargpt.get_batch(gradspec, data, config.block_size, args.batch_size))
               for _ in range(args.steps)]
    torch.manual_seed(0)
    state = {k: v.numpy() for k, v in chargpt.make_model(torch, config, 1e-3)[0].state_dict().items()}
    if args.losses:
        _print_losses(gradspec, torch, config, state, data, args)
    ours, theirs = Side(gradspec, config, state, batches), Side(torch, config, state, batches)
    ours.steps(2), theirs.steps(2)  # warm up
    times = {"gradspec": [], "torch": []}
    for _ in range(args.rounds):
        times["gradspec"].append(ours.steps(args.steps))
        times["torch"].append(theirs.steps(args.steps))
    n_params = sum(p.numel() for p in ours.model.parameters())
    print(f"gradspec {gradspec.__version__} vs torch {torch.__version__}, one thread: char-level GPT, "
          f"{config.n_layer} layers x {config.n_head} heads x {config.n_embd}, block {config.block_size}, "
          f"batch {args.batch_size}, {n_params / 1e6:.2f}M parameters")
    ours_ms, theirs_ms = (1000 * statistics.median(times[k]) for k in ("gradspec", "torch"))
    print(f"{'measure':<24} {'gradspec ms':>12} {'torch ms':>10} {'ratio':>7}")
    print(f"{'training step':<24} {ours_ms:>12.1f} {theirs_ms:>10.1f} {ours_ms / theirs_ms:>7.2f}")
    print("ratio = gradspec time / torch time (below 1: gradspec is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
