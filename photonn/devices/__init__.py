"""Device profiles: TOML files of real devices, validated and converted to SI units.

``load_profile("holoeye_pluto2")`` returns a frozen :class:`DeviceProfile` whose
``values`` are in SI units; ``list_profiles()`` names the shipped profiles.
"""

from .profile import KINDS as KINDS
from .profile import DeviceProfile as DeviceProfile
from .profile import list_profiles as list_profiles
from .profile import load_profile as load_profile
from .profile import profile_from_dict as profile_from_dict
from .profile import profiles_dir as profiles_dir
from .profile import read_lut as read_lut
