"""Device profiles: TOML files of real devices, validated and converted to SI units.

``load_profile("holoeye_pluto2")`` returns a frozen :class:`DeviceProfile` whose
``values`` are in SI units and whose properties give the derived values
(``v_pi``, ``dac_step``, ``active_area``, ...); ``list_profiles()`` names the
shipped profiles. :func:`resolve_profile` is the one resolver behind every
``Cls.from_profile(profile, /, **keywords)``: the profile (object, name, path or
mapping of SI values) is the only positional argument, everything else is a
keyword.
"""

from .profile import KINDS as KINDS
from .profile import DeviceProfile as DeviceProfile
from .profile import list_profiles as list_profiles
from .profile import load_profile as load_profile
from .profile import profile_from_dict as profile_from_dict
from .profile import profile_from_values as profile_from_values
from .profile import profiles_dir as profiles_dir
from .profile import read_lut as read_lut
from .profile import resolve_profile as resolve_profile
