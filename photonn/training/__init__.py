"""Training any ``nn.Module``: a thin seeded loop, HDF5 checkpoints that resume exactly, NaN guard.

The loop knows no model and no dataset; the run recipes that do (configuration
schema, model kinds, datasets, run directories) live in :mod:`photonn.runs`.

Example:
    >>> import torch
    >>> from photonn.training import Trainer, split_validation
    >>> model = torch.nn.Linear(4, 3)
    >>> opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    >>> x, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
    >>> train, val = split_validation((x, y), 16, generator=torch.Generator().manual_seed(0))
    >>> trainer = Trainer(model, opt, generator=torch.Generator().manual_seed(0),
    ...                   keep_best="val_accuracy", progress=False)
    >>> history = trainer.fit(train, epochs=2, batch_size=16, validation=val)
"""

from .callbacks import Callback as Callback
from .callbacks import LRDecay as LRDecay
from .callbacks import QuantizerSchedule as QuantizerSchedule
from .callbacks import StopTraining as StopTraining
from .callbacks import TimeLimit as TimeLimit
from .checkpoint import load_checkpoint as load_checkpoint
from .checkpoint import save_checkpoint as save_checkpoint
from .clipping import SelectiveGradClip as SelectiveGradClip
from .clipping import clip_grad_norm_selective as clip_grad_norm_selective
from .clipping import normalization_parameters as normalization_parameters
from .heap import keep_freed_memory as keep_freed_memory
from .loop import NonFiniteLossError as NonFiniteLossError
from .loop import Trainer as Trainer
from .loop import evaluate as evaluate
from .optim import build_optimizer as build_optimizer
from .optim import build_scheduler as build_scheduler
from .sinks import CSVSink as CSVSink
from .sinks import JSONSink as JSONSink
from .sinks import TensorBoardSink as TensorBoardSink
from .split import split_validation as split_validation
