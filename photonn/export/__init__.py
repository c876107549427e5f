"""Export trained networks to hardware controllers, and read them back.

``export(model, out_dir, device=PROFILE)`` writes one directory::

    out_dir/
      manifest.toml          schema version, versions, git commit, UTC time; the model kind,
                             description, configuration and metrics; grid, wavelengths,
                             distances; every device profile in full with its SHA-256;
                             the conventions; per layer/chip the settings report; the
                             SHA-256 of every file
      bundle.h5              every setting in SI units (units in the HDF5 attributes)
      profiles/<key>/        copies of the device profiles (TOML and their tables)
      slm/<layer>.png        gray levels per pixel (8-bit, or 16-bit for > 8-bit panels)
      slm/<layer>.bmp        the same as 8-bit BMP (8-bit panels)
      chips/<chip>/channels.csv, channels.json, netlist.json, zero_channels.csv
      fabrication/<layer>.stl, .png, .toml   printed or etched relief (fabrication=MATERIAL):
                             binary STL in mm, 16-bit height map, the layer's spec

``load(out_dir)`` rebuilds the simulation (from the bundle, or with
``source="files"`` from the controller files and the profiles); its forward
equals ``quantized_model(model, device)``'s. ``docs/export.md`` is the guide.
"""

from .bundle import Array as Array
from .bundle import BundleError as BundleError
from .bundle import read_bundle as read_bundle
from .bundle import write_bundle as write_bundle
from .calibration import HeaterCalibration as HeaterCalibration
from .calibration import lut_from_meadowlark as lut_from_meadowlark
from .calibration import read_heater_calibration as read_heater_calibration
from .calibration import read_lut_csv as read_lut_csv
from .calibration import read_meadowlark_lut as read_meadowlark_lut
from .calibration import read_wavefront_correction as read_wavefront_correction
from .channels import read_channels as read_channels
from .fabrication import FabricatedMask as FabricatedMask
from .images import read_gray_image as read_gray_image
from .manifest import BUNDLE as BUNDLE
from .manifest import MANIFEST as MANIFEST
from .manifest import SCHEMA_VERSION as SCHEMA_VERSION
from .manifest import read_manifest as read_manifest
from .manifest import summary as summary
from .plan import ExportPlan as ExportPlan
from .plan import plan_export as plan_export
from .plan import quantized_model as quantized_model
from .rebuild import load as load
from .write import export as export
