"""TokenizedSplit: one tokenized split, memory-mapped from its Arrow IPC file, as flat numpy arrays."""

import os

import numpy as np
import pyarrow as pa

INPUT_IDS = "input_ids"  # list<int32>, unpadded, [CLS] ... [SEP], truncated to max_length
LABEL = "label"  # int64
# list<int8>, aligned with input_ids: which segment each token is in. Only for a sentence pair read by
# a tokenizer whose model takes token types (BERT, ALBERT); absent otherwise.
TOKEN_TYPE_IDS = "token_type_ids"


class TokenizedSplit:
    """Rows of token ids and labels, read zero-copy from an Arrow IPC file through a memory map.

    Row i's ids are token_ids[offsets[i]:offsets[i + 1]]. The arrays are read-only views of the page
    cache, so many trial processes on one node share a single copy. It pickles as its path and
    re-maps the file on the other side (Ray workers, DataLoader workers).

    Attributes: token_ids (int32, all rows concatenated), offsets (int64, len+1), labels (int64),
    lengths (int64, tokens per row), type_ids (int8, aligned with token_ids; None unless the split
    is a sentence pair whose tokenizer gives token types).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        self._source = pa.memory_map(self.path, "r")
        reader = pa.ipc.open_file(self._source)
        # Written as one record batch, so the list column is contiguous and no copy is needed; a file
        # written otherwise is still read correctly, at the price of one copy.
        if reader.num_record_batches == 1:
            batch = reader.get_batch(0)
        else:
            batch = reader.read_all().combine_chunks().to_batches()[0]
        ids = batch.column(INPUT_IDS)
        self.token_ids: np.ndarray = ids.values.to_numpy(zero_copy_only=True)
        # int32 in the file; int64 here so that index arithmetic never overflows (one small copy).
        self.offsets: np.ndarray = ids.offsets.to_numpy().astype(np.int64)
        self.labels: np.ndarray = batch.column(LABEL).to_numpy(zero_copy_only=True)
        self.type_ids: np.ndarray | None = None
        if TOKEN_TYPE_IDS in batch.schema.names:
            self.type_ids = batch.column(TOKEN_TYPE_IDS).values.to_numpy(zero_copy_only=True)
        self.lengths: np.ndarray = np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        """Row `index` as (token ids view, label)."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"row {index} out of range for {len(self)} rows")
        index %= len(self)
        return self.token_ids[self.offsets[index] : self.offsets[index + 1]], int(self.labels[index])

    def __reduce__(self) -> tuple:
        return (TokenizedSplit, (self.path,))

    def __repr__(self) -> str:
        return f"TokenizedSplit({self.path!r}, rows={len(self)}, tokens={len(self.token_ids)})"


def write_split(
    path: str | os.PathLike,
    input_ids: list[list[int]],
    labels: np.ndarray,
    type_ids: list[list[int]] | None = None,
) -> int:
    """Write rows as one Arrow IPC record batch at `path`; return the file size in bytes.

    `type_ids` (one list per row, as long as its input_ids) adds the token_type_ids column.
    """
    lengths = np.fromiter((len(row) for row in input_ids), dtype=np.int64, count=len(input_ids))
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.fromiter((t for row in input_ids for t in row), dtype=np.int32, count=int(offsets[-1]))
    column = pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat))
    arrays = [column, pa.array(np.asarray(labels, dtype=np.int64))]
    fields = [(INPUT_IDS, pa.list_(pa.int32())), (LABEL, pa.int64())]
    if type_ids is not None:
        types = np.fromiter((t for row in type_ids for t in row), dtype=np.int8, count=int(offsets[-1]))
        arrays.append(pa.ListArray.from_arrays(pa.array(offsets), pa.array(types)))
        fields.append((TOKEN_TYPE_IDS, pa.list_(pa.int8())))
    batch = pa.record_batch(arrays, schema=pa.schema(fields))
    with pa.OSFile(os.fspath(path), "wb") as sink, pa.ipc.new_file(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return os.path.getsize(path)
