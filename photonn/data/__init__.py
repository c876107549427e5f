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
