"""A resource that ends with the resource it was made from.

``self._sftp = self._client.open_sftp()`` opens a channel over the SSH client's transport;
closing the client closes the transport and every channel on it. A class that keeps both
and closes the client has released the SFTP client too. Which models end with their
receiver is knowledge (``closed_with_its_receiver``).
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from memlint.analysis.model import Acquisition
from memlint.analysis.names import self_attribute
from memlint.analysis.resources import CLOSED_WITH_RECEIVER_MODELS


def receiver_attribute(acquisition: Acquisition) -> Optional[str]:
    """``_client`` for ``self._client.open_sftp()`` when the model ends with its receiver."""
    if acquisition.spec.model not in CLOSED_WITH_RECEIVER_MODELS:
        return None
    func = acquisition.call.func
    if not isinstance(func, cst.Attribute):
        return None
    return self_attribute(func.value)
