"""Shared fixtures. Tests that need the real corpus skip, with the reason, where it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
# $MULTI30K_DIR, else ../shared (tests/app_fixtures.py looks in the same place). CI also runs
# the suite with MULTI30K_DIR naming an empty folder: the bare-clone case.
SHARED_CORPUS = Path(os.environ.get("MULTI30K_DIR") or ROOT.parent / "shared" / "data" / "multi30k")

# Two threads (the machine's cores) unless OMP_NUM_THREADS says otherwise, e.g. beside a run.
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or 2))


@pytest.fixture(scope="session")
def multi30k_dir() -> Path:
    if not (SHARED_CORPUS / "train.en").exists():
        pytest.skip(f"the Multi30K corpus is not at {SHARED_CORPUS} (set MULTI30K_DIR to run this)")
    return SHARED_CORPUS


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: extra threads only add overhead, and on a shared CPU they stall."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory) -> str:
    """The app on the fixture models (tests/app_fixtures.py), served once for the whole session:
    the chapter views' API tests share it (gradio_client.Client(app_url))."""
    import app
    from tests.app_fixtures import build_checkpoints
    from tests.util import free_port

    demo = app.build_demo(build_checkpoints(tmp_path_factory.getbasetemp() / "app_checkpoints"))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                ssr_mode=False, **app.LAUNCH_OPTIONS)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="session")
def app_client(app_url):
    """A gradio_client.Client on `app_url`, shared by the API tests of the chapter's views."""
    from gradio_client import Client

    return Client(app_url, verbose=False)
