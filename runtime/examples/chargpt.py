"""Train a character-level GPT on the first chapters of Alice's Adventures in Wonderland.

    python -m gradspec.examples.chargpt                 # gradspec: ~500 steps, a sample at the end
    python -m gradspec.examples.chargpt --torch         # the same script under PyTorch

The model is gradspec.models.gpt (token and position embeddings, causal self-attention, LayerNorm,
a GELU MLP), trained with AdamW in two weight-decay groups and gradient clipping, in nanoGPT's
"shakespeare_char" recipe at a size one CPU core trains in minutes. Batches are drawn with
`randint` from the default generator, which gradspec reproduces bit for bit: with the same seed
both frameworks see the same batches. The text and its Project Gutenberg notice are in data/.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from ..models.gpt import GPTConfig, build

TEXT = Path(__file__).resolve().parent / "data" / "alice.txt"


def load_text() -> str:
    return TEXT.read_text(encoding="utf-8")


class CharTokenizer:
    """Characters to integers and back, over the characters of a text (sorted)."""

    def __init__(self, text: str) -> None:
        self.itos = sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        return [self.stoi[c] for c in text]

    def decode(self, ids) -> str:
        return "".join(self.itos[i] for i in ids)


def get_batch(lib, data, block_size: int, batch_size: int):
    """(x, y): batch_size random windows of the token tensor `data` and the same shifted by one."""
    starts = lib.randint(len(data) - block_size, (batch_size,)).tolist()
    x = lib.stack([data[i:i + block_size] for i in starts])
    y = lib.stack([data[i + 1:i + 1 + block_size] for i in starts])
    return x, y


def train_step(lib, model, optimizer, x, y, grad_clip: float):
    """Forward, backward, gradient clipping and the AdamW update; returns the loss."""
    _, loss = model(x, y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip:
        lib.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return loss


def make_model(lib, config: GPTConfig, learning_rate: float, weight_decay: float = 0.1, betas=(0.9, 0.99)):
    """The GPT under `lib` and its AdamW (nanoGPT's char-level hyper-parameters)."""
    model = build(lib)(config)
    return model, model.configure_optimizers(weight_decay, learning_rate, betas)


def estimate_loss(lib, model, data, config: GPTConfig, batch_size: int, batches: int) -> float:
    model.eval()
    with lib.no_grad():
        losses = [model(*get_batch(lib, data, config.block_size, batch_size))[1].item() for _ in range(batches)]
    model.train()
    return sum(losses) / len(losses)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--torch", action="store_true", help="run under PyTorch instead of gradspec")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--block-size", type=int, default=64)
    parser.add_argument("--n-layer", type=int, default=4)
    parser.add_argument("--n-head", type=int, default=4)
    parser.add_argument("--n-embd", type=int, default=128)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--grad-clip", type=float, default=1.0)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--eval-batches", type=int, default=10)
    parser.add_argument("--sample-chars", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1337)
    args = parser.parse_args(argv)
    lib = importlib.import_module("torch" if args.torch else "gradspec")

    text = load_text()
    tokenizer = CharTokenizer(text)
    data = lib.tensor(tokenizer.encode(text), dtype=lib.long)
    split = int(0.9 * len(data))
    train_data, val_data = data[:split], data[split:]
    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=args.block_size, n_layer=args.n_layer,
                       n_head=args.n_head, n_embd=args.n_embd, dropout=args.dropout)
    lib.manual_seed(args.seed)
    model, optimizer = make_model(lib, config, args.lr)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{lib.__name__}: {len(text):,} characters, vocabulary {tokenizer.vocab_size}, "
          f"{n_params / 1e6:.2f}M parameters")
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        x, y = get_batch(lib, train_data, config.block_size, args.batch_size)
        loss = train_step(lib, model, optimizer, x, y, args.grad_clip)
        if step % args.eval_every == 0 or step == args.steps:
            val = estimate_loss(lib, model, val_data, config, args.batch_size, args.eval_batches)
            elapsed = time.perf_counter() - start
            print(f"step {step:5d}: train loss {loss.item():.4f}, val loss {val:.4f}, "
                  f"{1000 * elapsed / step:.0f} ms/step")
    model.eval()
    context = lib.tensor([tokenizer.encode("Alice")], dtype=lib.long)
    print(tokenizer.decode(model.generate(context, args.sample_chars)[0].tolist()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
