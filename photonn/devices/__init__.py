"""Device profiles: TOML files of real devices, validated and converted to SI units.

``load_profile("holoeye_pluto2")`` returns a frozen, typed profile of the file's
kind (:class:`SLMProfile`, :class:`CameraProfile`, :class:`MZIPlatformProfile`,
all :class:`DeviceProfile`) whose values are in SI units, read as attributes
(``profile.pixel_pitch``) or by key (``profile["pixel_pitch"]``), and whose
properties give the derived values (``v_pi``, ``dac_step``, ``active_area``, ...);
``list_profiles()`` names the shipped profiles. :func:`resolve_profile` is the one
resolver behind every ``Cls.from_profile(profile, /, **keywords)``: the profile
(object, name, path or mapping of SI values) is the only positional argument,
everything else is a keyword.

Modules: :mod:`~photonn.devices.units` (file units -> SI),
:mod:`~photonn.devices.base` (the profile base and a declared value),
:mod:`~photonn.devices.kinds` (the typed kinds and their declared values),
:mod:`~photonn.devices.validation` (a file's table -> a validated profile),
:mod:`~photonn.devices.tables` (measured curves: look-up tables, heater tables),
:mod:`~photonn.devices.profile` (loading and resolving).
"""

from .base import DeviceProfile as DeviceProfile
from .kinds import KINDS as KINDS
from .kinds import CameraProfile as CameraProfile
from .kinds import MaterialProfile as MaterialProfile
from .kinds import MicroringBankProfile as MicroringBankProfile
from .kinds import MZIPlatformProfile as MZIPlatformProfile
from .kinds import PCMCrossbarProfile as PCMCrossbarProfile
from .kinds import SLMProfile as SLMProfile
from .profile import list_profiles as list_profiles
from .profile import load_profile as load_profile
from .profile import profiles_dir as profiles_dir
from .profile import resolve_profile as resolve_profile
from .tables import read_heater_calibration as read_heater_calibration
from .tables import read_lut as read_lut
from .validation import profile_from_dict as profile_from_dict
from .validation import profile_from_values as profile_from_values
