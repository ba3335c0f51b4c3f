"""Plain-SDK twins of the two functions: what a user writes without this project.

Each twin has the same entrypoint and makes the same data call as the function it mirrors, with
the credential built the way the official libraries' docs show, and nothing else: no single
flight, no refresh ahead, no retries beyond the SDKs' own, no error translation. The benchmarks
run each twin under the same host as the function (functions-framework; the local Functions
host), against the same lab, and report every figure as this project beside the twin.

Only endpoints and the CA come from the environment, as for the functions themselves.
"""
