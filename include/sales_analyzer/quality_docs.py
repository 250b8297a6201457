"""Data Docs page views whose Jinja templates are compiled once per machine, not on every gate run.

GX's DefaultJinjaView gives each view a jinja2 Environment of its own, and the site builder
makes a view per section and one for the index, so every Data Docs build compiled GX's
templates from source again: 106 compiles, ~0.4 s of each gate run whatever its size
(docs/benchmarks.md, "Sessions 11 and 12"). GX has no setting for a bytecode cache; it does let a
site name its view classes (`site_section_builders.<section>.view`, `site_index_builder.view`),
and these are GX's own views with jinja2's FileSystemBytecodeCache set on their Environment.

The cache is jinja2's default folder (`_jinja2-cache-<uid>` in the temp directory, created
mode 0700 and checked by jinja2). A cached template is used only when the checksum of its
source and the interpreter's bytecode magic match, so a new GX release or Python recompiles by
itself; files are written to a temporary name and renamed, so concurrent tasks are safe.

Imported only by GX (by module name, from the site config in quality.py), after GX itself.
"""

from __future__ import annotations

from typing import Any

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import FileSystemBytecodeCache


class _BytecodeCached:
    """Sets the bytecode cache on the Environment that GX's view has just made."""

    env: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = FileSystemBytecodeCache()


class CachedJinjaPageView(_BytecodeCached, DefaultJinjaPageView):
    pass


class CachedJinjaIndexPageView(_BytecodeCached, DefaultJinjaIndexPageView):
    pass


def site_config(docs_dir: str) -> dict[str, Any]:
    """The gate's one Data Docs site, at `docs_dir`, rendered with the cached views."""
    module = __name__
    page = {"module_name": module, "class_name": CachedJinjaPageView.__name__}
    return {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": docs_dir},
        "site_index_builder": {
            "class_name": "DefaultSiteIndexBuilder",
            "view": {"module_name": module, "class_name": CachedJinjaIndexPageView.__name__},
        },
        "site_section_builders": {"expectations": {"view": page}, "validations": {"view": page}},
    }
