"""torch.onnx's entry point, so that programs which import it (pytorch/examples'
word_language_model offers an export option) run; gradspec writes no ONNX graphs."""


def export(model, args=(), f=None, *rest, **options):
    raise NotImplementedError("torch.onnx.export: gradspec does not write ONNX graphs; export the model's "
                              "state_dict (gradspec.save) and convert it with PyTorch")


def is_in_onnx_export() -> bool:
    """torch's check, used inside models' forward: never, here."""
    return False
