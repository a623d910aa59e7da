"""The read-back checks of a rotation that no sandbox can make fail: colliding key ids."""

from __future__ import annotations

import pytest

from cio_sec.errors import ConfigError
from cio_sec.pseudonym import KeyRing, PseudonymKey
from cio_sec.rotate.checks import check_old_pseudonyms

#: Two strong keys whose 32-bit key ids are equal (found by search: 80401d3c).
_SAME_ID = (
    "rotation-collision-00015106-0123456789abcdef0123456789abcdef0123456789abcdef",
    "rotation-collision-00019409-0123456789abcdef0123456789abcdef0123456789abcdef",
)


def test_old_pseudonyms_verify_after_a_rotation() -> None:
    old, new = PseudonymKey.generate()[0], PseudonymKey.generate()[0]
    check_old_pseudonyms(old, KeyRing(current=new, previous=old).by_id())


def test_a_new_key_with_the_old_keys_id_is_caught() -> None:
    old, new = (PseudonymKey.from_text(text) for text in _SAME_ID)
    assert old.key_id == new.key_id
    with pytest.raises(ConfigError, match="an old pseudonym no longer verifies"):
        check_old_pseudonyms(old, KeyRing(current=new, previous=old).by_id())
