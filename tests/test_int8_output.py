"""The int8 output layer: a Transformer folder stored as int8 scores from its int8 rows."""

from __future__ import annotations

import pytest
import torch

from data.tokenizer import Tokenizer
from inference import Translator
from inference.checkpoint import SCALE_SUFFIX, load_folder, pack_weights, save_folder
from inference.int8_output import attach
from models import Transformer
from tests.app_fixtures import _sentences

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("int8")
    torch.manual_seed(0)
    tokenizer = Tokenizer.train(_sentences(), vocab_size=300)
    model = Transformer(tokenizer.vocab_size, d_model=64, num_heads=4, num_encoder_layers=2,
                        num_decoder_layers=1, d_ff=128).eval()
    config = {"model": {"class_path": "models.transformer.Transformer",
                        "init_args": model.config}, "language_pair": ["en", "de"]}
    return {fmt: save_folder(root / fmt, model, tokenizer, config, {"name": fmt}, [], fmt)
            for fmt in ("int8", "fp32")}


def test_int8_folder_scores_close_to_fp32_and_trains_in_fp32(folders):
    model, *_ = load_folder(folders["int8"])
    assert model.output_projection is not None
    x = torch.randn(3, 5, model.d_model)
    exact = x @ model.embedding.weight.t()  # the dequantised int8 rows, in fp32
    with torch.inference_mode():
        fast = model._logits(x)
    assert fast.shape == exact.shape and not torch.equal(fast, exact)
    torch.testing.assert_close(fast, exact, atol=0.1, rtol=0.0)
    model.train()
    assert torch.equal(model._logits(x), exact)  # training never takes the int8 path
    translator = Translator.load(folders["int8"])
    assert translator.translate("A dog runs.").target_pieces  # decodes through it


def test_fp32_folder_and_mismatched_scales_keep_the_fp32_path(folders):
    model, *_ = load_folder(folders["fp32"])
    assert model.output_projection is None
    packed = pack_weights(model.state_dict(), "int8")
    packed["embedding.weight" + SCALE_SUFFIX] = packed["embedding.weight" + SCALE_SUFFIX] * 3
    assert not attach(model, packed, SCALE_SUFFIX)  # fails the load-time check
    assert model.output_projection is None
