"""The corpus: public PyTorch scripts run unchanged under torch and under gradspec (see README.md)."""
