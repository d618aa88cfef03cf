"""The hunt library: Elastic hunting TOML files, the bundled ones and the user's own."""

from hunts.library import Hunt, HuntLibrary, HuntQuery, LoadProblem, Pivot, load_library

__all__ = ["Hunt", "HuntLibrary", "HuntQuery", "LoadProblem", "Pivot", "load_library"]
