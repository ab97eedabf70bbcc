"""The rules document's examples for MEM-005, MEM-006 and "Long-Term Memory Indexing".

Code written against the document must run unchanged after importing the runtime's
classes. Each scenario below runs twice: against the document's own example code (kept
verbatim in ``DOCUMENT_CODE``) and against ``memlint.runtime``, and the two must agree
wherever the document's example is right.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Dict

import pytest

import memlint.runtime

try:
    import numpy as np
except ImportError:  # pragma: no cover - numpy is optional
    np = None

# From memory-management-rules.md, sections MEM-005, MEM-006 and Long-Term Memory
# Indexing, unchanged (the imports at the top are the document's).
DOCUMENT_CODE = '''
from datetime import datetime, timedelta
from typing import List, Dict, Any, Optional
import gzip
import json
from pathlib import Path

class LongTermMemory:
    def __init__(self, max_entries: int = 10000, retention_days: int = 90):
        self.max_entries = max_entries
        self.retention_days = retention_days
        self.storage = []

    def store(self, entry: Dict[str, Any]):
        """Store entry with automatic pruning."""
        # Add timestamp
        entry['timestamp'] = datetime.now().isoformat()
        entry['importance'] = entry.get('importance', 0.5)

        # Add to storage
        self.storage.append(entry)

        # Prune if needed
        if len(self.storage) > self.max_entries:
            self._prune_old_entries()

    def _prune_old_entries(self):
        """Remove old or low-importance entries."""
        cutoff_date = datetime.now() - timedelta(days=self.retention_days)

        # Sort by importance and recency
        self.storage.sort(
            key=lambda x: (x['importance'], x['timestamp']),
            reverse=True
        )

        # Keep only max_entries most important
        self.storage = self.storage[:self.max_entries]

        # Remove entries older than retention period (unless high importance)
        self.storage = [
            entry for entry in self.storage
            if (datetime.fromisoformat(entry['timestamp']) > cutoff_date
                or entry['importance'] > 0.8)
        ]

    def get_stats(self) -> Dict[str, Any]:
        """Get memory statistics."""
        return {
            "total_entries": len(self.storage),
            "max_entries": self.max_entries,
            "usage_percent": (len(self.storage) / self.max_entries) * 100,
            "oldest_entry": min(e['timestamp'] for e in self.storage) if self.storage else None
        }

class MemoryArchiver:
    def __init__(self, archive_dir: str = "./memory_archive"):
        self.archive_dir = Path(archive_dir)
        self.archive_dir.mkdir(exist_ok=True)

    def should_archive(self, entry: Dict[str, Any]) -> bool:
        """Determine if entry should be archived."""
        # Archive if older than 30 days and low importance
        entry_date = datetime.fromisoformat(entry['timestamp'])
        age_days = (datetime.now() - entry_date).days

        return (age_days > 30 and entry['importance'] < 0.7)

    def archive_entry(self, entry: Dict[str, Any]) -> str:
        """Archive an entry to compressed storage."""
        # Create archive filename
        entry_id = entry.get('id', hash(str(entry)))
        archive_file = self.archive_dir / f"entry_{entry_id}.json.gz"

        # Compress and save
        data = json.dumps(entry).encode('utf-8')
        with gzip.open(archive_file, 'wb') as f:
            f.write(data)

        return str(archive_file)

    def retrieve_from_archive(self, entry_id: str) -> Dict[str, Any]:
        """Retrieve archived entry."""
        archive_file = self.archive_dir / f"entry_{entry_id}.json.gz"

        if not archive_file.exists():
            raise FileNotFoundError(f"Archived entry not found: {entry_id}")

        with gzip.open(archive_file, 'rb') as f:
            data = f.read()

        return json.loads(data.decode('utf-8'))

    def cleanup_old_archives(self, max_age_days: int = 180):
        """Remove archives older than specified age."""
        cutoff_date = datetime.now() - timedelta(days=max_age_days)

        for archive_file in self.archive_dir.glob("*.json.gz"):
            if datetime.fromtimestamp(archive_file.stat().st_mtime) < cutoff_date:
                archive_file.unlink()

class LongTermMemoryIndex:
    def __init__(self):
        self.entries = []
        self.embeddings = []
        self.index = {}  # metadata index

    def add(self, entry: Dict[str, Any], embedding: np.ndarray):
        """Add entry with embedding."""
        entry_id = len(self.entries)
        entry['id'] = entry_id

        self.entries.append(entry)
        self.embeddings.append(embedding)

        # Update metadata index
        self._update_index(entry)

    def _update_index(self, entry: Dict[str, Any]):
        """Update metadata index."""
        # Index by tags
        for tag in entry.get('tags', []):
            if tag not in self.index:
                self.index[tag] = []
            self.index[tag].append(entry['id'])

    def search_semantic(self, query_embedding: np.ndarray, top_k: int = 5) -> List[Dict]:
        """Search by semantic similarity."""
        if not self.embeddings:
            return []

        # Calculate cosine similarity
        embeddings_array = np.array(self.embeddings)
        similarities = np.dot(embeddings_array, query_embedding)

        # Get top-k most similar
        top_indices = np.argsort(similarities)[-top_k:][::-1]

        return [self.entries[i] for i in top_indices]

    def search_by_tag(self, tag: str) -> List[Dict]:
        """Search by metadata tag."""
        entry_ids = self.index.get(tag, [])
        return [self.entries[i] for i in entry_ids]
'''


def document_namespace() -> Dict[str, Any]:
    if np is None:
        pytest.skip("the document's index example needs numpy")
    namespace: Dict[str, Any] = {"np": np}
    exec(compile(DOCUMENT_CODE, "memory-management-rules.md", "exec"), namespace)
    return namespace


@pytest.fixture(params=["document", "runtime"])
def impl(request: Any) -> Any:
    """The three classes, from the document or from ``memlint.runtime``."""
    if request.param == "document":
        namespace = document_namespace()
        return namespace["LongTermMemory"], namespace["MemoryArchiver"], namespace["LongTermMemoryIndex"]
    return memlint.runtime.LongTermMemory, memlint.runtime.MemoryArchiver, memlint.runtime.LongTermMemoryIndex


def close(obj: Any) -> None:
    if hasattr(obj, "close"):
        obj.close()


def test_long_term_memory_usage(impl: Any) -> None:
    LongTermMemory = impl[0]
    memory = LongTermMemory(max_entries=10000, retention_days=90)
    try:
        memory.store({"content": "User prefers dark mode", "importance": 0.9})
        memory.store({"content": "Talked about the weather"})
        stats = memory.get_stats()
        assert set(stats) >= {"total_entries", "max_entries", "usage_percent", "oldest_entry"}
        assert stats["total_entries"] == 2
        assert stats["max_entries"] == 10000
        assert stats["usage_percent"] == 2 / 10000 * 100
        assert datetime.fromisoformat(stats["oldest_entry"]) <= datetime.fromisoformat(memory.storage[-1]["timestamp"])
        assert sorted(e["content"] for e in memory.storage) == ["Talked about the weather", "User prefers dark mode"]
        assert {e["content"]: e["importance"] for e in memory.storage} == {
            "User prefers dark mode": 0.9, "Talked about the weather": 0.5,
        }
    finally:
        close(memory)


def test_long_term_memory_bound(impl: Any) -> None:
    LongTermMemory = impl[0]
    memory = LongTermMemory(max_entries=5, retention_days=90)
    try:
        # (The last store is an important fact: the runtime never drops an entry in the
        # store() that adds it, where the document drops a trivial one at once.)
        for number in range(17):
            memory.store({"content": f"fact {number}", "importance": 0.9 if number % 4 == 0 else 0.2})
        kept = {entry["content"] for entry in memory.storage}
        # The important facts survive the bound in both.
        assert {f"fact {n}" for n in (0, 4, 8, 12, 16)} == kept
    finally:
        close(memory)


def test_archiver_usage(impl: Any, tmp_path: Path) -> None:
    MemoryArchiver = impl[1]
    archiver = MemoryArchiver(str(tmp_path / "memory_archive"))
    try:
        old = (datetime.now() - timedelta(days=45)).isoformat()
        recent = datetime.now().isoformat()
        entry = {"id": "conv-17", "content": "old chat", "timestamp": old, "importance": 0.3}
        assert archiver.should_archive(entry) is True
        assert archiver.should_archive({**entry, "timestamp": recent}) is False
        assert archiver.should_archive({**entry, "importance": 0.75}) is False
        archiver.archive_entry(entry)
        assert archiver.retrieve_from_archive("conv-17") == entry
        with pytest.raises(FileNotFoundError):
            archiver.retrieve_from_archive("conv-18")
        archiver.cleanup_old_archives(max_age_days=180)
        assert archiver.retrieve_from_archive("conv-17") == entry  # archived today: kept
    finally:
        close(archiver)


def test_archiver_without_id_is_retrievable_only_from_the_runtime(tmp_path: Path) -> None:
    """The document returns a file path built from ``hash()``; the runtime returns an id."""
    document = document_namespace()["MemoryArchiver"](str(tmp_path / "doc"))
    path = document.archive_entry({"content": "no id", "timestamp": datetime.now().isoformat(), "importance": 0.1})
    assert path.endswith(".json.gz")  # a path, salted by the process: not an id to look up later
    with memlint.runtime.MemoryArchiver(str(tmp_path / "rt")) as archiver:
        entry_id = archiver.archive_entry({"content": "no id", "importance": 0.1})
        assert archiver.retrieve_from_archive(entry_id)["content"] == "no id"


def test_index_usage(impl: Any) -> None:
    if np is None:
        pytest.skip("the document's example passes numpy arrays")
    LongTermMemoryIndex = impl[2]
    index = LongTermMemoryIndex()
    unit = np.eye(4)
    index.add({"content": "python", "tags": ["code"]}, unit[0])
    index.add({"content": "rust", "tags": ["code"]}, (unit[0] + unit[1]) / np.sqrt(2))
    index.add({"content": "cooking", "tags": ["food"]}, unit[2])
    found = index.search_semantic(unit[0], top_k=2)
    assert [e["content"] for e in found] == ["python", "rust"]
    assert [e["content"] for e in index.search_by_tag("code")] == ["python", "rust"]
    assert [e["content"] for e in index.search_by_tag("food")] == ["cooking"]
    assert index.search_by_tag("none") == []
