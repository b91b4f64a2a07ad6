"""Kept so folders exported before the cell choice (`models.gru.GRUSeq2Seq`) still load.

The recurrent translator lives in `models.rnn`; `GRUSeq2Seq` is `RNNSeq2Seq` (cell="gru").
"""

from models.rnn import ATTENTIONS, CELLS, GRUSeq2Seq, RNNSeq2Seq

__all__ = ["ATTENTIONS", "CELLS", "GRUSeq2Seq", "RNNSeq2Seq"]
