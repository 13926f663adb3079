"""A third-party distribution laid out as pip installs it, for tests of plugin stores
that register through real entry points."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def install_distribution(
    site: Path,
    name: str,
    modules: Mapping[str, str],
    entry_points: Mapping[str, Mapping[str, str]],
) -> None:
    """Write ``modules`` (file name -> source) into ``site`` beside a ``<name>-1.0.dist-info``
    folder declaring ``entry_points`` (group -> {name: "module:object"}). Put ``site`` on
    ``sys.path`` (``monkeypatch.syspath_prepend``) to install it."""
    site.mkdir(parents=True, exist_ok=True)
    for file_name, source in modules.items():
        (site / file_name).write_text(source, encoding="utf-8")
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{key} = {target}\n" for key, target in entries.items())
            for group, entries in entry_points.items()
        )
    )
