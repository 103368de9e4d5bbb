"""The README documents every environment variable the settings read."""

import re

from tests.conftest import PROJECT_ROOT


def test_every_setting_variable_is_in_the_readme_table():
    settings_source = (PROJECT_ROOT / "eduai" / "settings" / "base.py").read_text()
    variables = set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', settings_source))
    assert "DATABASE_URL" in variables
    readme = (PROJECT_ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.MULTILINE))
    assert variables - documented == set()
