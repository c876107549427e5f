"""Ready-made optical networks built from the element modules."""

from .coupled_mode import CoupledModeOptions as CoupledModeOptions
from .coupled_mode import CoupledModePNN as CoupledModePNN
from .d2nn import D2NN as D2NN
from .d2nn import D2NNOptions as D2NNOptions
from .fourier4f import Fourier4fNetwork as Fourier4fNetwork
from .isomorphic import IsomorphicOptions as IsomorphicOptions
from .isomorphic import IsomorphicPNN as IsomorphicPNN
from .multivariate import MultivariateOptions as MultivariateOptions
from .multivariate import MultivariatePNN as MultivariatePNN
from .photonic_mlp import PhotonicMLP as PhotonicMLP
from .photonic_mlp import PhotonicMLPOptions as PhotonicMLPOptions
from .polarization_d2nn import PolarizationD2NN as PolarizationD2NN
from .polarization_d2nn import PolarizationD2NNOptions as PolarizationD2NNOptions
from .relax import DiffractiveReLaX as DiffractiveReLaX
from .relax import DigitalReLaX as DigitalReLaX
from .relax import PhotonicReLaX as PhotonicReLaX
from .relax import ReLaXLanguageModel as ReLaXLanguageModel
