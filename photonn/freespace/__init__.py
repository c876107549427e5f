"""Free-space optical elements as ``nn.Module``s bound to a :class:`photonn.Grid`."""

from .aberration import ZernikeAberration as ZernikeAberration
from .aperture import Aperture as Aperture
from .camera import Camera as Camera
from .detectors import IntensityDetector as IntensityDetector
from .detectors import RegionDetector as RegionDetector
from .fourier_filter import FourierFilter4f as FourierFilter4f
from .fourier_lens import FourierLens as FourierLens
from .lens import ThinLens as ThinLens
from .masks import AmplitudeMask as AmplitudeMask
from .masks import ComplexMask as ComplexMask
from .masks import PhaseMask as PhaseMask
from .noise import DetectorNoise as DetectorNoise
from .propagator import Propagator as Propagator
from .slm import SLM as SLM
from .sources import GaussianSchellSource as GaussianSchellSource
from .sources import IncoherentSource as IncoherentSource
from .sources import detect_modes as detect_modes
