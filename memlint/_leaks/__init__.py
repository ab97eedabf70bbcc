"""Runtime leak detection shared by ``memlint.leakcheck`` and the pytest plugin.

Nothing here is imported until leak checking is switched on: ``sites`` installs the
process-wide recorder (an audit hook and two wrappers), ``snapshot`` reads what the
process holds, ``checker`` turns two snapshots into a list of ``Leak`` objects.
"""

from __future__ import annotations
