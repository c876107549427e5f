"""Data sets and image -> optical-field transforms.

Readers of the IDX format, loaders of MNIST and Fashion-MNIST from a directory,
an embedded MNIST subset that needs no download, and transforms that place an
image on a grid and encode it into a complex field.
"""

from .idx import read_idx as read_idx
from .idx import write_idx as write_idx
from .mnist import load_embedded_mnist as load_embedded_mnist
from .mnist import load_fashion_mnist as load_fashion_mnist
from .mnist import load_mnist as load_mnist
from .transforms import ImageToField as ImageToField
from .transforms import amplitude_encoding as amplitude_encoding
from .transforms import image_to_field as image_to_field
from .transforms import intensity_encoding as intensity_encoding
from .transforms import pad_to as pad_to
from .transforms import phase_encoding as phase_encoding
from .transforms import resize as resize
from .transforms import to_unit_range as to_unit_range
