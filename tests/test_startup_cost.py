"""Nothing expensive happens when Crossroads is imported (issue 18): `crossroads --help` and every
process start without an Argon2 hash, Huey or the Redis client."""

import subprocess
import sys

PROBE = """
import sys
import crossroads.web.cli
from crossroads.core import security
print(security._dummy_hash.cache_info().currsize, 'huey' in sys.modules, 'redis' in sys.modules)
"""


def test_importing_the_command_line_computes_no_hash_and_loads_no_queue_client():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["0", "False", "False"]


def test_a_sign_in_for_an_unknown_email_still_verifies_against_a_dummy_hash():
    from crossroads.core import security

    assert security.verify_password(None, "anything") is False
    assert security._dummy_hash.cache_info().currsize == 1
    assert security.verify_password(security.hash_password("right"), "right") is True
