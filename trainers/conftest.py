"""The doctests of trainers/ run without PyTorch too: its trainers are skipped then."""

import importlib.util

collect_ignore = [] if importlib.util.find_spec("torch") else ["torch_mlp.py", "torch_cnn.py"]
