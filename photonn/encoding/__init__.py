"""Data -> optical inputs: images to complex fields (free space) and to amplitude vectors
(on chip); data to device parameters (multivariate-nonlinearity encoders).

:func:`image_to_field` / :class:`ImageToField` place an image on the simulation
grid and encode it as amplitude, intensity or phase; :func:`image_to_vector` /
:class:`ImageToVector` shrink it to ``ny * nx`` unit-power amplitudes for a
mesh. :class:`PhaseEncoder` / :class:`AmplitudeEncoder` write the data into
device parameters, ``a ⊙ x + b`` per mode or pixel, with replicas and passes
(Savinson et al. 2025); :func:`nondegeneracy` checks by autograd that an
encoding's mixed partial derivatives do not vanish (their universality
condition). :mod:`photonn.data` hands back images and labels only; everything that
turns them into light lives here.
"""

from .detuning import DetuningEncoder as DetuningEncoder
from .features import ImageFeatures as ImageFeatures
from .features import RandomFlipErase as RandomFlipErase
from .features import image_features as image_features
from .image import ENCODINGS as ENCODINGS
from .image import RESIZE_MODES as RESIZE_MODES
from .image import ImageToField as ImageToField
from .image import amplitude_encoding as amplitude_encoding
from .image import image_to_field as image_to_field
from .image import intensity_encoding as intensity_encoding
from .image import pad_to as pad_to
from .image import phase_encoding as phase_encoding
from .image import resize as resize
from .image import to_unit_range as to_unit_range
from .nondegeneracy import Nondegeneracy as Nondegeneracy
from .nondegeneracy import nondegeneracy as nondegeneracy
from .phase import AmplitudeEncoder as AmplitudeEncoder
from .phase import PhaseEncoder as PhaseEncoder
from .phase import affine_encoding as affine_encoding
from .phase import bounded_phase as bounded_phase
from .vector import ImageToVector as ImageToVector
from .vector import image_to_vector as image_to_vector
