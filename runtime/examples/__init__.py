"""Runnable examples: `python -m gradspec.examples.chargpt` (a character-level GPT on a shipped text)."""
