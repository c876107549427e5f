"""Data sets: images (or tokens) and labels, nothing else.

Readers of the IDX format, loaders of MNIST and Fashion-MNIST from a directory
and an embedded MNIST subset that needs no download. Turning images into
optical inputs (fields, amplitude vectors) is :mod:`photonn.encoding`'s job.
"""

from .idx import read_idx as read_idx
from .idx import write_idx as write_idx
from .mnist import load_embedded_mnist as load_embedded_mnist
from .mnist import load_fashion_mnist as load_fashion_mnist
from .mnist import load_mnist as load_mnist
from .text import char_windows as char_windows
from .text import load_shakespeare as load_shakespeare
