"""Tests of lightning_vid.callbacks, lightning_vid.viz and the checkpoint loader.

A package, so that its conftest.py does not clash with tests/conftest.py under
--doctest-modules (both would be imported as the module ``conftest``).
"""
