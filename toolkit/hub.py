"""Publishing to the Hugging Face Hub: takes a finished folder (an exported dataset, a model),
gives its repository URL on the Hub, with the Hub's errors (no token, offline, refused)
turned into a :class:`~toolkit.errors.HubError` that says what to do.

The folder is uploaded as it is, in one commit; the repository is created when it does not
exist yet. Nothing here knows what the folder holds, so dataset and model exports share it.
"""

from __future__ import annotations

from pathlib import Path

from .errors import HubError

__all__ = ["push_folder"]

_LOGIN_HINT = "log in with `hf auth login` or set HF_TOKEN to a token with write access"


def push_folder(folder: str | Path, repo_id: str, *, repo_type: str, private: bool = False, token: str | None = None) -> str:
    """Upload ``folder`` to the Hub repository ``repo_id`` (``repo_type``: dataset, model or space),
    creating it if needed (``private`` applies only then); returns the repository URL."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HFValidationError, HfHubHTTPError, LocalTokenNotFoundError, OfflineModeIsEnabled
    from huggingface_hub.utils import httpx  # the Hub client's HTTP library, whichever it is in this version

    folder = Path(folder)
    if not folder.is_dir():
        raise HubError(f"{folder}: no such folder to upload")
    api = HfApi()
    try:
        url = api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True, token=token)
        api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type=repo_type, token=token,
                          commit_message=f"Upload {folder.name} with the kamerbrieven toolkit")
    except LocalTokenNotFoundError:
        raise HubError(f"no Hugging Face token: {_LOGIN_HINT}") from None
    except OfflineModeIsEnabled:
        raise HubError("the Hugging Face Hub is switched off here (HF_HUB_OFFLINE=1); unset it to push") from None
    except HFValidationError as error:
        raise HubError(f"{repo_id!r} is not a valid Hub repository id (owner/name): {_first_line(error)}") from None
    except HfHubHTTPError as error:
        status = getattr(getattr(error, "response", None), "status_code", None)
        hint = f"; {_LOGIN_HINT}" if status in (401, 403) else ""
        raise HubError(f"the Hub refused to publish {repo_id} ({_first_line(error)}){hint}") from None
    except (httpx.HTTPError, ConnectionError) as error:
        raise HubError(f"cannot reach the Hugging Face Hub ({_first_line(error)}); check the network and try again") from None
    return str(url)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
