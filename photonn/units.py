"""SI multipliers. photonn works in SI units throughout: write ``1550 * nm``.

Only multipliers live here. Non-SI quantities (dB, dBm) carry a suffix in their
names instead (``loss_db``, ``power_dbm``).
"""

# length [m]
m = 1.0
cm = 1e-2
mm = 1e-3
um = 1e-6
nm = 1e-9
pm = 1e-12

# time [s]
s = 1.0
ms = 1e-3
us = 1e-6
ns = 1e-9
ps = 1e-12
fs = 1e-15

# frequency [Hz]
Hz = 1.0
kHz = 1e3
MHz = 1e6
GHz = 1e9
THz = 1e12

# power [W]
W = 1.0
mW = 1e-3
uW = 1e-6
nW = 1e-9

# electrical
V = 1.0
mV = 1e-3
A = 1.0
mA = 1e-3
uA = 1e-6
ohm = 1.0

# angle [rad]
rad = 1.0
mrad = 1e-3
deg = 3.141592653589793 / 180.0

# physical constants (CODATA exact values)
c = 299_792_458.0  # speed of light in vacuum [m/s]
h = 6.626_070_15e-34  # Planck constant [J s]
q_e = 1.602_176_634e-19  # elementary charge [C]
