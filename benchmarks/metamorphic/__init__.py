"""Metamorphic detection benchmark (SPEC §4.6, issue 10).

Every malicious replay of tests/support/replays.py is rewritten by fixed families of
semantics-preserving transformations (member-access spellings, module loaders under other
names, folded or encoded constants, payload moved into a minified bundle or an oddly named
file, gated behind a delay / CI / counter, split across two modules, wholly encoded), and a set
of honest releases (`negatives.py`) is rewritten by the non-encoding families. The families
are fixed here, before the analysis is tuned against them.

Modules: `archive` (artifact <-> file tree), `jsedit` / `pyedit` (parser-guided source edits),
`families` (the rewrite families), `negatives` (hard negatives), `cases` (the case list).
"""
