"""Ready-made optical networks built from the element modules."""

from .d2nn import D2NN as D2NN
from .isomorphic import IsomorphicPNN as IsomorphicPNN
from .multivariate import MultivariatePNN as MultivariatePNN
from .photonic_mlp import PhotonicMLP as PhotonicMLP
