"""What every stage of the flow shares to run its work: one content hash, one provenance record,
one job runner (local processes by default, a Ray cluster when given)."""

from .hashing import content_hash, file_hash
from .provenance import git_commit, provenance, tool_versions
from .runner import JobRunner, add_runner_args, runner_from_args

__all__ = ["content_hash", "file_hash", "git_commit", "provenance", "tool_versions",
           "JobRunner", "add_runner_args", "runner_from_args"]
