"""Publishing to a Hugging Face hub: takes a finished export folder (a model or a dataset), gives
the URL of the hub repository it was uploaded to.

``huggingface_hub`` does the work (``create_repo`` + ``upload_folder``); this module only turns
its failures (no token, no network, a refused repository) into one-line toolkit errors. The hub
is ``HF_ENDPOINT`` when set (a company hub, or the local test server), else huggingface.co.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ToolkitError

__all__ = ["HubError", "push_folder"]


class HubError(ToolkitError):
    """Uploading to the hub failed."""


def push_folder(folder: str | os.PathLike, repo_id: str, *, repo_type: str, private: bool = False, token: str | None = None) -> str:
    """Upload every file of ``folder`` to ``repo_id`` (created if missing); returns the repository URL."""
    folder = Path(folder)
    if not folder.is_dir():
        raise HubError(f"{folder}: nothing to upload (not a directory)")
    if repo_type not in ("model", "dataset"):
        raise HubError(f"repo_type must be 'model' or 'dataset', got {repo_type!r}")
    if not repo_id or repo_id.count("/") > 1 or repo_id.startswith("/") or repo_id.endswith("/"):
        raise HubError(f"--push-to-hub {repo_id!r}: expected a hub repository id such as 'my-group/kamerbrieven-stance'")
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, LocalTokenNotFoundError

    api = HfApi(token=token)
    try:
        url = api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
        api.upload_folder(repo_id=repo_id, repo_type=repo_type, folder_path=str(folder),
                          commit_message=f"Upload {folder.name} with kamerbrieven-toolkit")
    except LocalTokenNotFoundError:
        raise HubError("--push-to-hub: no hub token; log in with `hf auth login` or set HF_TOKEN") from None
    except HfHubHTTPError as error:
        raise HubError(f"--push-to-hub {repo_id}: the hub refused the upload ({str(error).splitlines()[0]})") from None
    except (OSError, ValueError) as error:  # no network, a bad endpoint
        raise HubError(f"--push-to-hub {repo_id}: could not reach the hub ({error})") from None
    return str(url)
