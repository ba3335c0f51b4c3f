"""``federation doctor``: check a federation hop by hop, show the claims that matter, name the fix.

:mod:`shared.doctor.checks` runs the hops (:func:`run` gives one :class:`Verdict` per hop);
:mod:`shared.doctor.cli` is the ``federation`` command (also ``python -m shared``).
"""

from shared.doctor.checks import AZURE_TO_GOOGLE, GOOGLE_TO_AZURE, STORAGE_SCOPE, Verdict, run

__all__ = ["AZURE_TO_GOOGLE", "GOOGLE_TO_AZURE", "STORAGE_SCOPE", "Verdict", "run"]
