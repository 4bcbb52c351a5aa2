"""The doctests of trainers/ run without PyTorch too: its trainers are skipped then."""

import importlib.util

TORCH_MODULES = ["_torch.py", "_torch_layers.py", "torch_mlp.py", "torch_cnn.py"]
collect_ignore = [] if importlib.util.find_spec("torch") else TORCH_MODULES
