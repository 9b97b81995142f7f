"""Tests of lightning_vid.callbacks.

A package, so that test modules here may share a name with one elsewhere under tests/.
"""
