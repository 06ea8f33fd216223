"""Dependencies of a release analysed as packages: new, changed (range, re-pin, `npm:` alias)
and bundled under `node_modules/`.

`resolve` is pure (manifests and version lists in, versions out); `scan` does the registry
and fetch work on behalf of the pipeline, bounded in depth, count and size; `bundled` carves
the packages an npm tarball ships under `node_modules/` out of it and analyses each as a
package, so their findings are reported once, under their own manifest.
"""
