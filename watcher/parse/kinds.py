"""Which files are source code, and in which language."""

from __future__ import annotations

JS_SUFFIXES = (".js", ".cjs", ".mjs", ".jsx", ".ts", ".cts", ".mts", ".tsx")
PY_SUFFIXES = (".py", ".pyw", ".pth")


def is_js(path: str) -> bool:
    """JavaScript or TypeScript source (type declarations excluded: they never run)."""
    return path.endswith(JS_SUFFIXES) and not path.endswith((".d.ts", ".d.mts", ".d.cts"))


def is_python(path: str) -> bool:
    """Python source, including `.pth` files (executed by `site` at interpreter start)."""
    return path.endswith(PY_SUFFIXES)
