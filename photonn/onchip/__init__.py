"""On-chip photonics: MZI meshes (Clements, Reck), SVD layers, microrings, photodetection."""

from ..functional.mzi_errors import thermal_crosstalk_matrix as thermal_crosstalk_matrix
from ..functional.mzi_mesh import MeshLayout as MeshLayout
from ..functional.mzi_mesh import clements_layout as clements_layout
from ..functional.mzi_mesh import reck_layout as reck_layout
from ..functional.unitary import MeshPhases as MeshPhases
from ..functional.unitary import clements_decompose as clements_decompose
from ..functional.unitary import decompose as decompose
from ..functional.unitary import fidelity as fidelity
from ..functional.unitary import haar_unitary as haar_unitary
from ..functional.unitary import reck_decompose as reck_decompose
from ..functional.unitary import reconstruct as reconstruct
from ..functional.unitary import svd_decompose as svd_decompose
from .detection import Photodetector as Photodetector
from .detection import balanced_detection as balanced_detection
from .detection import coherent_detection as coherent_detection
from .detection import incoherent_detection as incoherent_detection
from .encoded_mesh import EncodedMesh as EncodedMesh
from .mesh import MZIMesh as MZIMesh
from .microring import MicroringWeightBank as MicroringWeightBank
from .microring import ring_add_drop as ring_add_drop
from .microring import ring_linewidth as ring_linewidth
from .microring import ring_lorentzian as ring_lorentzian
from .programming import ReprogramResult as ReprogramResult
from .programming import reprogram as reprogram
from .svd import SVDLinear as SVDLinear
