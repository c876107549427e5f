"""Free-space optical elements as ``nn.Module``s bound to a :class:`photonn.Grid`."""

from .aperture import Aperture as Aperture
from .camera import Camera as Camera
from .detectors import IntensityDetector as IntensityDetector
from .detectors import RegionDetector as RegionDetector
from .fourier_lens import FourierLens as FourierLens
from .high_na import HighNALens as HighNALens
from .lens import ThinLens as ThinLens
from .masks import AmplitudeMask as AmplitudeMask
from .masks import ComplexMask as ComplexMask
from .masks import PhaseMask as PhaseMask
from .noise import DetectorNoise as DetectorNoise
from .polarization import HalfWavePlate as HalfWavePlate
from .polarization import JonesMatrix as JonesMatrix
from .polarization import JonesModulator as JonesModulator
from .polarization import Polarizer as Polarizer
from .polarization import PolarizingBeamSplitter as PolarizingBeamSplitter
from .polarization import QuarterWavePlate as QuarterWavePlate
from .polarization import Rotator as Rotator
from .polarization import WavePlate as WavePlate
from .polarization_detectors import PolarizedIntensity as PolarizedIntensity
from .polarization_detectors import PolarizerCamera as PolarizerCamera
from .polarization_detectors import StokesDetector as StokesDetector
from .propagator import Propagator as Propagator
from .slm import SLM as SLM
