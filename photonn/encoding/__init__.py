"""Data -> optical inputs: images to complex fields (free space) and to amplitude vectors
(on chip).

:func:`image_to_field` / :class:`ImageToField` place an image on the simulation
grid and encode it as amplitude, intensity or phase; :func:`image_to_vector` /
:class:`ImageToVector` shrink it to ``ny * nx`` unit-power amplitudes for a
mesh. :mod:`photonn.data` hands back images and labels only; everything that
turns them into light lives here.
"""

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
from .vector import ImageToVector as ImageToVector
from .vector import image_to_vector as image_to_vector
