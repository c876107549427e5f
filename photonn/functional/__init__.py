"""Pure tensor math: no Modules, no I/O, no globals."""

from .beams import gaussian_beam as gaussian_beam
from .fourier import centered_fft2 as centered_fft2
from .fourier import centered_ifft2 as centered_ifft2
from .fourier import conv_fft as conv_fft
from .fourier import fast_size as fast_size
from .optics import circular_aperture as circular_aperture
from .optics import rect_aperture as rect_aperture
from .optics import thin_lens_phase as thin_lens_phase
from .propagation import METHODS as METHODS
from .propagation import SamplingWarning as SamplingWarning
from .propagation import fraunhofer as fraunhofer
from .propagation import fraunhofer_output_grid as fraunhofer_output_grid
from .propagation import propagate as propagate
from .propagation import transfer_function as transfer_function
from .sampling import SamplingReport as SamplingReport
from .sampling import padded_shape as padded_shape
from .sampling import sampling_report as sampling_report
