"""The files generated from the models and the code catalogue, and how to render each.

`tools/generate.py` writes them and `tests/config/test_generated_files.py` checks that the
committed copies are current; both take the list from here so that they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable

from supportctl.config.codes_doc import render_diagnostics
from supportctl.config.plugin_spec import PluginSet
from supportctl.config.reference_doc import render_reference
from supportctl.config.schema import render_schema, stack_schema

Render = Callable[[PluginSet], str]

GENERATED: tuple[tuple[str, Render], ...] = (
    ("schema/stack.schema.json", lambda plugins: render_schema(plugins)),
    ("schema/stack-fragment.schema.json", lambda plugins: render_schema(plugins, fragment=True)),
    ("docs/stack-reference.md", lambda plugins: render_reference(stack_schema(plugins))),
    ("docs/diagnostics.md", lambda plugins: render_diagnostics()),
)


def render_all(plugins: PluginSet) -> dict[str, str]:
    """Every generated file (path relative to the repository) with its fresh contents."""
    return {path: render(plugins) for path, render in GENERATED}
