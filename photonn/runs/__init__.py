"""Run recipes: the configuration schema, the model kinds and datasets, run directories.

This layer sits above the models and the training loop: it is the only part of
photonn that knows which models and datasets exist. ``photonn train`` and
``photonn eval`` are thin shells over it.

Example:
    >>> from photonn.runs import resolve_config, train_run
    >>> cfg = resolve_config({"epochs": 1, "data": {"train_limit": 256}})  # doctest: +SKIP
    >>> trainer = train_run(cfg, "runs/quick")                              # doctest: +SKIP
    >>> trainer.results["final"]["test_accuracy"]                           # doctest: +SKIP
"""

from .config import SCHEMA_VERSION as SCHEMA_VERSION
from .config import config_reference as config_reference
from .config import default_config as default_config
from .config import dump_config as dump_config
from .config import flat_config as flat_config
from .config import load_config as load_config
from .config import migrate as migrate
from .config import parse_override as parse_override
from .config import resolve_config as resolve_config
from .datasets import DATASETS as DATASETS
from .datasets import Dataset as Dataset
from .datasets import register_dataset as register_dataset
from .models import MODEL_KINDS as MODEL_KINDS
from .models import ModelKind as ModelKind
from .models import register_model as register_model
from .run import RunData as RunData
from .run import build_model as build_model
from .run import evaluate_run as evaluate_run
from .run import fit_run as fit_run
from .run import load_data as load_data
from .run import load_run as load_run
from .run import loss_function as loss_function
from .run import prepare_run as prepare_run
from .run import resume_config as resume_config
from .run import run_pictures as run_pictures
from .run import stored_config as stored_config
from .run import train_run as train_run
