"""TFRecord files of ``tf.train.Example`` records holding serialized tensors, read without TensorFlow.

A TFRecord file is a sequence of records, each framed as::

    uint64 length (little endian) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)

with ``masked_crc32c(b) = rotate_right(crc32c(b), 15) + 0xa282ead8 (mod 2**32)``
(TensorFlow's ``core/lib/io/record_writer``). Both checksums are verified: a
corrupt or truncated file is an error, never silently shortened data. Each
record is a ``tf.train.Example`` (protobuf classes of the ``tfrecord``
package); a feature written with ``tf.io.serialize_tensor`` is a bytes value
holding a ``TensorProto`` (protobuf classes of the ``tensorboardX`` package),
read like ``tf.make_ndarray``. CRC32C comes from the ``crc32c`` package.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np

_MASK_DELTA = 0xA282EAD8
_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")


class TFRecordError(ValueError):
    """A TFRecord file that is corrupt, truncated, or holds records of another kind."""


def masked_crc32c(data: bytes | memoryview) -> int:
    """TFRecord's masked CRC32C of ``data`` (Castagnoli polynomial), an unsigned 32-bit integer."""
    import crc32c

    crc = crc32c.crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    """One record framed as TFRecord writes it (length, masked CRCs)."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc32c(length)) + data + struct.pack("<I", masked_crc32c(data))


def read_records(path: str | Path) -> Iterator[bytes]:
    """The records of a TFRecord file, each checked against both of its CRCs.

    Parameters
    ----------
    path : str or Path
        An uncompressed ``.tfrecord`` file.

    Yields
    ------
    bytes
        Each record's data.

    Raises
    ------
    TFRecordError
        If a length or data CRC does not match, or the file ends inside a record.
    """
    data = memoryview(Path(path).read_bytes())
    offset, index = 0, 0
    while offset < len(data):
        if offset + _HEADER.size > len(data):
            raise TFRecordError(f"{path}: truncated: record {index} at byte {offset} has "
                                f"{len(data) - offset} of the {_HEADER.size} bytes of its header")
        length, length_crc = _HEADER.unpack_from(data, offset)
        if masked_crc32c(data[offset:offset + 8]) != length_crc:
            raise TFRecordError(f"{path}: corrupt: record {index} at byte {offset}: the CRC32C of its length does "
                                f"not match (stored {length_crc:#010x}, computed "
                                f"{masked_crc32c(data[offset:offset + 8]):#010x}); fetch the file again")
        start = offset + _HEADER.size
        end = start + length
        if end + _FOOTER.size > len(data):
            raise TFRecordError(f"{path}: truncated: record {index} at byte {offset} announces {length} bytes "
                                f"but the file ends after {len(data) - start}")
        (data_crc,) = _FOOTER.unpack_from(data, end)
        record = data[start:end]
        if masked_crc32c(record) != data_crc:
            raise TFRecordError(f"{path}: corrupt: record {index} at byte {offset}: the CRC32C of its {length} "
                                f"bytes of data does not match (stored {data_crc:#010x}, computed "
                                f"{masked_crc32c(record):#010x}); fetch the file again")
        yield bytes(record)
        offset, index = end + _FOOTER.size, index + 1


def example_features(record: bytes, names: tuple[str, ...], where: str = "record") -> dict[str, bytes]:
    """The single bytes value of each feature ``names`` of a serialized ``tf.train.Example``.

    Raises
    ------
    TFRecordError
        If the record is not an Example, or a feature is missing or not one bytes value.
    """
    from google.protobuf.message import DecodeError
    from tfrecord import example_pb2

    example = example_pb2.Example()
    try:
        example.ParseFromString(record)
    except DecodeError as exc:
        raise TFRecordError(f"{where}: not a tf.train.Example ({exc})") from None
    features = example.features.feature
    out = {}
    for name in names:
        if name not in features:
            raise TFRecordError(f"{where}: the Example has no feature {name!r} (it has {sorted(features)})")
        feature = features[name]
        if feature.WhichOneof("kind") != "bytes_list" or len(feature.bytes_list.value) != 1:
            raise TFRecordError(f"{where}: feature {name!r} must be one bytes value (a serialized tensor); "
                                f"found {feature.WhichOneof('kind')} with "
                                f"{len(getattr(feature, feature.WhichOneof('kind') or 'bytes_list').value)} values")
        out[name] = feature.bytes_list.value[0]
    return out


def _dtypes() -> dict[int, tuple[np.dtype, str]]:
    """TensorProto dtype -> (numpy dtype, the repeated field that holds values when tensor_content is empty)."""
    from tensorboardX.proto import types_pb2 as t

    return {t.DT_FLOAT: (np.dtype("<f4"), "float_val"), t.DT_DOUBLE: (np.dtype("<f8"), "double_val"),
            t.DT_HALF: (np.dtype("<f2"), "half_val"), t.DT_INT32: (np.dtype("<i4"), "int_val"),
            t.DT_INT16: (np.dtype("<i2"), "int_val"), t.DT_INT8: (np.dtype("i1"), "int_val"),
            t.DT_UINT8: (np.dtype("u1"), "int_val"), t.DT_UINT16: (np.dtype("<u2"), "int_val"),
            t.DT_INT64: (np.dtype("<i8"), "int64_val"), t.DT_BOOL: (np.dtype("?"), "bool_val")}


def parse_tensor(serialized: bytes, where: str = "tensor") -> np.ndarray:
    """A ``TensorProto`` (``tf.io.serialize_tensor``'s output) as an array, like ``tf.make_ndarray``.

    Values come from ``tensor_content`` (raw little-endian bytes) when it is
    set, else from the typed repeated field, where one value stands for all
    and none for zeros.

    Raises
    ------
    TFRecordError
        If the bytes are not a TensorProto of a numeric type, or the values do not fit the shape.
    """
    from google.protobuf.message import DecodeError
    from tensorboardX.proto import tensor_pb2

    proto = tensor_pb2.TensorProto()
    try:
        proto.ParseFromString(serialized)
    except DecodeError as exc:
        raise TFRecordError(f"{where}: not a serialized TensorProto ({exc})") from None
    kinds = _dtypes()
    if proto.dtype not in kinds:
        raise TFRecordError(f"{where}: tensor of dtype enum {proto.dtype}; expected a numeric type "
                            f"(float, double, half, int8-64, uint8, uint16, bool)")
    dtype, field_name = kinds[proto.dtype]
    if proto.tensor_shape.unknown_rank:
        raise TFRecordError(f"{where}: tensor of unknown rank")
    shape = tuple(d.size for d in proto.tensor_shape.dim)
    n = int(np.prod(shape, dtype=np.int64))
    if proto.tensor_content:
        values = np.frombuffer(proto.tensor_content, dtype=dtype)
    else:
        raw = getattr(proto, field_name)
        values = (np.asarray(raw, np.uint16).view(np.float16) if field_name == "half_val"
                  else np.asarray(raw).astype(dtype))
        if len(values) == 1 or len(values) == 0:
            values = np.full(n, values[0] if len(values) else 0, dtype=dtype)
    if values.size != n:
        raise TFRecordError(f"{where}: tensor of shape {shape} holds {values.size} values")
    return values.reshape(shape).astype(dtype.newbyteorder("="), copy=False)
