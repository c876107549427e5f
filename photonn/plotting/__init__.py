"""Pictures of optical networks and their training (PNG; needs the ``plot`` extra).

matplotlib is imported inside each function, so importing this package is free.
Every function writes its PNG atomically and returns the path.
"""

from .d2nn import plot_d2nn as plot_d2nn
from .export import plot_chip_heaters as plot_chip_heaters
from .export import plot_export as plot_export
from .export import plot_slm_image as plot_slm_image
from .figures import plot_detector as plot_detector
from .figures import plot_history as plot_history
from .figures import plot_phase_masks as plot_phase_masks
from .figures import plot_planes as plot_planes
