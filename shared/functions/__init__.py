"""What the two functions share, beyond the library: the HTTP contract, the log lines, their settings.

:mod:`shared.functions.http` (query parameters in, JSON out, every failure JSON),
:mod:`shared.functions.logs` (structured, redacted logs for both hosts) and
:mod:`shared.functions.settings` (one settings class per function, read by the function and by doctor).
"""
