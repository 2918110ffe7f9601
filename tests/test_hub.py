from __future__ import annotations

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, LocalTokenNotFoundError, OfflineModeIsEnabled
from huggingface_hub.utils import httpx

from toolkit.errors import HubError
from toolkit.hub import push_folder


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "dataset"
    path.mkdir()
    (path / "README.md").write_text("---\nlanguage: nl\n---\n", encoding="utf-8")
    return path


@pytest.fixture
def calls(monkeypatch):
    """The Hub calls, recorded instead of sent."""
    recorded = []

    def create_repo(self, repo_id, **options):
        recorded.append(("create_repo", repo_id, options))
        return f"https://huggingface.co/datasets/{repo_id}"

    def upload_folder(self, **options):
        recorded.append(("upload_folder", options["repo_id"], options))

    monkeypatch.setattr(HfApi, "create_repo", create_repo)
    monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
    return recorded


def test_push_creates_the_repository_then_uploads_the_folder(folder, calls):
    url = push_folder(folder, "someone/kamerbrieven", repo_type="dataset", private=True, token="hf_secret")
    assert url == "https://huggingface.co/datasets/someone/kamerbrieven"
    (create, repo_id, options), (upload, upload_repo, upload_options) = calls
    assert (create, repo_id, upload, upload_repo) == ("create_repo", "someone/kamerbrieven", "upload_folder", "someone/kamerbrieven")
    assert options == {"repo_type": "dataset", "private": True, "exist_ok": True, "token": "hf_secret"}
    assert upload_options["folder_path"] == str(folder)
    assert (upload_options["repo_type"], upload_options["token"]) == ("dataset", "hf_secret")


def _http_error(status: int) -> HfHubHTTPError:
    request = httpx.Request("POST", "https://huggingface.co/api/repos/create")
    return HfHubHTTPError(f"{status} Client Error", response=httpx.Response(status, request=request))


@pytest.mark.parametrize(
    "error, message",
    [
        (LocalTokenNotFoundError("Token is required"), "no Hugging Face token: log in"),
        (_http_error(401), "refused to publish someone/kamerbrieven \\(401 Client Error\\); log in"),
        (_http_error(500), "refused to publish someone/kamerbrieven \\(500 Client Error\\)$"),
        (OfflineModeIsEnabled("offline"), "HF_HUB_OFFLINE=1"),
        (httpx.ConnectError("[Errno -3] Temporary failure in name resolution"), "cannot reach the Hugging Face Hub"),
    ],
)
def test_hub_errors_become_toolkit_errors(error, message, folder, monkeypatch):
    def create_repo(self, repo_id, **options):
        raise error

    monkeypatch.setattr(HfApi, "create_repo", create_repo)
    with pytest.raises(HubError, match=message):
        push_folder(folder, "someone/kamerbrieven", repo_type="dataset")


def test_a_missing_folder_is_refused_before_any_call(tmp_path, calls):
    with pytest.raises(HubError, match="no such folder"):
        push_folder(tmp_path / "missing", "someone/kamerbrieven", repo_type="model")
    assert calls == []


def test_an_invalid_repository_id_is_explained(folder):
    # huggingface_hub validates the id before any request is made
    with pytest.raises(HubError, match="not a valid Hub repository id"):
        push_folder(folder, "not a/valid//id", repo_type="dataset", token="hf_unused")
