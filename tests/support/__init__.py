"""Helpers the tests share: settings and clients against the lab, the entrypoints in-process, retries, infra/ readers."""
