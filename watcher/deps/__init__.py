"""New dependencies of a release: resolved to the version an install would pick and scanned.

`resolve` is pure (manifests and version lists in, versions out); `scan` does the registry
and fetch work on behalf of the pipeline, bounded in depth, count and size.
"""
