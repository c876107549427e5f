"""Polynomial activations modelling device response, and the tools that keep them stable.

Families (shared interface ``degree``, ``coefficients``, ``interval``):
power, Chebyshev, Hermite (``He_k/k!``), Fourier, tropical, PolyReLU, PolyNorm,
and the Pi-net CCP layer. Device-response nonlinearities from datasheet
parameters, :func:`fit_polynomial` for measured or modelled curves, the
hook-based boundary loss :class:`BoundaryLoss`, the activation monitor and
:func:`replace_activations`. Activations keep no state between calls.
"""

from .base import PolynomialActivation as PolynomialActivation
from .boundary import BoundaryLoss as BoundaryLoss
from .boundary import boundary_penalty as boundary_penalty
from .curves import load_curve as load_curve
from .device import EOModulator as EOModulator
from .device import OEConverter as OEConverter
from .device import SaturableAbsorber as SaturableAbsorber
from .device import SOAGain as SOAGain
from .families import ChebyshevActivation as ChebyshevActivation
from .families import FourierActivation as FourierActivation
from .families import HermiteActivation as HermiteActivation
from .families import PowerActivation as PowerActivation
from .families import TropicalActivation as TropicalActivation
from .fitting import fit_polynomial as fit_polynomial
from .monitor import ActivationMonitor as ActivationMonitor
from .monitor import EscapingActivationError as EscapingActivationError
from .optical_nonlinearity import OpticalNonlinearity as OpticalNonlinearity
from .pinet import CCP as CCP
from .polycomp import PolyNorm as PolyNorm
from .polycomp import PolyReLU as PolyReLU
from .registry import Lambda as Lambda
from .registry import get_activation as get_activation
from .replace import replace_activations as replace_activations
