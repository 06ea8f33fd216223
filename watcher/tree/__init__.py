"""A subscription's resolved dependency tree: what an install of its pinned release gets.

`model` holds the plain values, `catalog` what the resolver reads from a registry (and how a
registry's answer is kept between cycles), `resolve` the npm and PyPI resolution itself.
"""
