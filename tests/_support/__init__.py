"""Helpers every test area shares: a fake clock, a free port, bounded waiting.

One home each, so a fix (a port race, a clearer failure message) reaches every test at once.
Helpers of one area stay in that area's ``_support.py``; test modules never import each other.
"""
