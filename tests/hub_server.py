"""A stand-in for the Hugging Face hub, served by pytest-httpserver: the few endpoints that
``huggingface_hub`` uses to download a model repository (``/api/models/<repo>``, its file tree,
and ``/<repo>/resolve/<revision>/<file>`` with the ETag and commit headers the cache relies on).

Written for the tests from the hub's public HTTP behaviour; it serves local directories under
hub-style repository ids so that ``HF_ENDPOINT=<server>`` takes exactly a user's download path.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from werkzeug.wrappers import Request, Response

__all__ = ["FakeHub"]

_COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    """Serves ``{repo_id: directory}``; records every request as ``(method, path)``."""

    def __init__(self) -> None:
        self.repos: dict[str, Path] = {}
        self.requests: list[tuple[str, str]] = []

    def add_repo(self, repo_id: str, directory: Path) -> None:
        self.repos[repo_id] = Path(directory)

    def install(self, httpserver) -> None:
        httpserver.expect_request(re.compile(".*")).respond_with_handler(self.handle)

    def downloads(self, repo_id: str) -> list[str]:
        prefix = f"/{repo_id}/resolve/"
        return [path[len(prefix):].partition("/")[2] for method, path in self.requests if method == "GET" and path.startswith(prefix)]

    @staticmethod
    def _missing(code: str) -> Response:
        return Response("not found", status=404, headers={"X-Error-Code": code})

    def _file(self, root: Path, name: str) -> Response:
        path = root / name
        if not path.is_file():
            return Response("not found", status=404, headers={"X-Error-Code": "EntryNotFound", "X-Repo-Commit": _COMMIT})
        data = path.read_bytes()
        # The body is sent for HEAD too: the server drops it, and Content-Length must be the file's.
        return Response(data, headers={"ETag": f'"{hashlib.sha256(data).hexdigest()}"', "X-Repo-Commit": _COMMIT})

    def _tree(self, root: Path, folder: str) -> Response:
        directory = root / folder
        files = sorted(p for p in directory.rglob("*") if p.is_file()) if directory.is_dir() else []
        items = [{"type": "file", "path": str(p.relative_to(root)), "size": p.stat().st_size, "oid": "0" * 40} for p in files]
        return Response(json.dumps(items), content_type="application/json")

    def handle(self, request: Request) -> Response:
        self.requests.append((request.method, request.path))
        for repo_id, root in self.repos.items():
            if request.path.startswith(f"/{repo_id}/resolve/"):
                return self._file(root, request.path[len(f"/{repo_id}/resolve/"):].partition("/")[2])
            if request.path.startswith(f"/api/models/{repo_id}/tree/"):
                return self._tree(root, request.path[len(f"/api/models/{repo_id}/tree/"):].partition("/")[2])
            if request.path.rstrip("/") in (f"/api/models/{repo_id}", f"/api/models/{repo_id}/revision/main"):
                siblings = [{"rfilename": str(p.relative_to(root))} for p in sorted(root.rglob("*")) if p.is_file()]
                return Response(json.dumps({"id": repo_id, "sha": _COMMIT, "siblings": siblings}), content_type="application/json")
        return self._missing("RepoNotFound")
