"""Ships the top-level ``devices/`` folder inside the wheel as ``photonn.device_profiles``.

All metadata lives in pyproject.toml; this file only adds the package mapping
that pyproject's ``packages.find`` cannot express.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["photonn", "photonn.*"]) + ["photonn.device_profiles"],
    package_dir={"photonn.device_profiles": "devices"},
    package_data={
        "photonn": ["py.typed", "data/_embedded/*"],
        "photonn.device_profiles": ["*.toml", "*.csv", "*.md"],
    },
)
