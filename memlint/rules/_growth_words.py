"""Phrasing the memory-growth rules (MEM051, MEM052) share: how a container is named."""

from __future__ import annotations

from memlint.analysis.growth import LongLivedContainer


def container_phrase(container: LongLivedContainer) -> str:
    """"`_cache` (a module-level dict, line {L0})", "`self.history` (a list on each `Agent`, line {L0})"."""
    if container.where == "module":
        return f"`{container.name}` (a module-level {container.kind}, line {{L0}})"
    if container.where == "class":
        return f"`{container.owner}.{container.name}` (a class-level {container.kind}, line {{L0}})"
    return f"`self.{container.name}` (a {container.kind} kept on each `{container.owner}`, line {{L0}})"
