"""Training: a thin seeded loop, HDF5 checkpoints that resume exactly, NaN guard.

Example:
    >>> import torch
    >>> from photonn.training import Trainer
    >>> model = torch.nn.Linear(4, 3)
    >>> opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    >>> x, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
    >>> trainer = Trainer(model, opt, generator=torch.Generator().manual_seed(0), progress=False)
    >>> history = trainer.fit((x, y), epochs=2, batch_size=16)
"""

from .checkpoint import load_checkpoint as load_checkpoint
from .checkpoint import save_checkpoint as save_checkpoint
from .clipping import SelectiveGradClip as SelectiveGradClip
from .clipping import clip_grad_norm_selective as clip_grad_norm_selective
from .clipping import normalization_parameters as normalization_parameters
from .config import DEFAULT_CONFIG as DEFAULT_CONFIG
from .config import load_config as load_config
from .config import resolve_config as resolve_config
from .heap import keep_freed_memory as keep_freed_memory
from .loop import NonFiniteLossError as NonFiniteLossError
from .loop import StopTraining as StopTraining
from .loop import Trainer as Trainer
from .loop import evaluate as evaluate
from .run import LRDecay as LRDecay
from .run import TimeLimit as TimeLimit
from .run import build_model as build_model
from .run import evaluate_run as evaluate_run
from .run import load_run as load_run
from .run import train_run as train_run
