"""Protocol-buffer messages in CEL: a type registry and the value bridge.

CEL's data model is protobuf's: an expression may construct a message
(``TestAllTypes{single_int64: 1}``), select its fields, test them with
``has()`` and compare messages.  This module keeps those semantics in one
place and leaves the message storage to the ``protobuf`` library (upb):

- :class:`MessageTypes` is the registry a program is compiled and run
  against: a descriptor pool holding the well-known types plus whatever
  ``FileDescriptorSet`` the caller adds.
- A message value at run time is the protobuf message itself.  Reading a field
  converts it to CEL's representation (``int32`` to ``int``, ``uint32`` to
  ``uint``, enums to ``int``, repeated fields to lists, maps to dicts) and
  unwraps the well-known types exactly as cel-spec defines: wrappers become
  their value or ``null`` when unset, ``Any`` is unpacked, ``Struct``/
  ``Value``/``ListValue`` become maps, JSON values and lists, ``Timestamp``
  and ``Duration`` become CEL timestamps and durations.
- Construction converts the other way, with CEL's range checks (an ``int``
  that does not fit an ``int32`` field is an error, not a silent wrap).
- Equality is CEL's, not protobuf's: fields compare with CEL ``==`` (so a NaN
  field makes two messages unequal) and ``Any`` fields compare unpacked, or
  byte for byte when they cannot be unpacked.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping
from typing import Any, Final

from google.protobuf import (
    any_pb2,
    descriptor_pb2,
    descriptor_pool,
    duration_pb2,
    empty_pb2,
    field_mask_pb2,
    message_factory,
    struct_pb2,
    timestamp_pb2,
    wrappers_pb2,
)
from google.protobuf.descriptor import FieldDescriptor as _FieldDescriptor
from google.protobuf.message import DecodeError, Message

from contract_executable_compiler._values import (
    CelEvalError,
    CelType,
    Duration,
    Timestamp,
    UInt,
    cel_eq,
    map_key,
    unmap_key,
)

__all__ = [
    "MessageTypes",
    "build_message",
    "default_types",
    "message_eq",
    "message_has",
    "message_select",
    "message_to_cel",
]

_NS: Final = 10**9
_INT32: Final = (-(2**31), 2**31 - 1)
_UINT32_MAX: Final = 2**32 - 1
_FLOAT32_MAX: Final = 3.4028234663852886e38

_WKT_MODULES: Final = (
    any_pb2, duration_pb2, empty_pb2, field_mask_pb2, struct_pb2, timestamp_pb2, wrappers_pb2,
)  # fmt: skip

WRAPPERS: Final = {
    "google.protobuf.BoolValue": "bool",
    "google.protobuf.BytesValue": "bytes",
    "google.protobuf.DoubleValue": "double",
    "google.protobuf.FloatValue": "double",
    "google.protobuf.Int32Value": "int",
    "google.protobuf.Int64Value": "int",
    "google.protobuf.StringValue": "string",
    "google.protobuf.UInt32Value": "uint",
    "google.protobuf.UInt64Value": "uint",
}
_ANY: Final = "google.protobuf.Any"
_VALUE: Final = "google.protobuf.Value"
_STRUCT: Final = "google.protobuf.Struct"
_LIST: Final = "google.protobuf.ListValue"
_TIMESTAMP: Final = "google.protobuf.Timestamp"
_DURATION: Final = "google.protobuf.Duration"
_NULL_ENUM: Final = "google.protobuf.NullValue"
_URL_PREFIX: Final = "type.googleapis.com/"

_T = _FieldDescriptor
# protobuf's descriptor classes differ between its upb and pure-Python backends (and
# their stubs disagree), so descriptors are typed loosely here.
Descriptor = Any
EnumDescriptor = Any
FieldDescriptor = Any
_SIGNED: Final = frozenset(
    {_T.TYPE_INT32, _T.TYPE_INT64, _T.TYPE_SINT32, _T.TYPE_SINT64, _T.TYPE_SFIXED32,
     _T.TYPE_SFIXED64}
)  # fmt: skip
_UNSIGNED: Final = frozenset({_T.TYPE_UINT32, _T.TYPE_UINT64, _T.TYPE_FIXED32, _T.TYPE_FIXED64})
_NARROW: Final = frozenset(
    {_T.TYPE_INT32, _T.TYPE_SINT32, _T.TYPE_SFIXED32, _T.TYPE_UINT32, _T.TYPE_FIXED32}
)
_FLOATS: Final = frozenset({_T.TYPE_FLOAT, _T.TYPE_DOUBLE})


def _class_of(desc: Descriptor) -> type[Message]:
    """The Python class for messages of ``desc`` (protobuf caches it per descriptor)."""
    cls: type[Message] = message_factory.GetMessageClass(desc)
    return cls


def _file_proto(module: Any) -> descriptor_pb2.FileDescriptorProto:
    fdp = descriptor_pb2.FileDescriptorProto()
    module.DESCRIPTOR.CopyToProto(fdp)
    return fdp


class MessageTypes:
    """The protobuf types a CEL program may use: well-known types plus added files.

    Types are found by full name (``cel.expr.conformance.proto3.TestAllTypes``)
    or relative to a container, as CEL resolves names.  Message classes are
    made once per descriptor and cached, so values of one type share a class.
    """

    def __init__(self, files: Iterable[descriptor_pb2.FileDescriptorProto] = ()) -> None:
        self.pool = descriptor_pool.DescriptorPool()
        for module in _WKT_MODULES:
            self.pool.Add(_file_proto(module))
        self.files: list[str] = []
        for f in files:
            self.add_file(f)

    def add_file(self, file: descriptor_pb2.FileDescriptorProto) -> None:
        """Add one ``.proto`` file's descriptor (its imports must be added first)."""
        try:
            self.pool.Add(file)
            self.pool.FindFileByName(file.name)
        except Exception as exc:  # any refusal by the descriptor pool is bad input
            from contract_executable_compiler.errors import ContractInputError

            raise ContractInputError(
                f"protobuf descriptor {file.name!r} does not load: {exc}",
                hint="add the files it imports first, or check the descriptor set",
            ) from None
        self.files.append(file.name)

    @classmethod
    def from_descriptor_set(cls, data: bytes) -> MessageTypes:
        """A registry from a serialised ``FileDescriptorSet`` (``protoc --descriptor_set_out``)."""
        from contract_executable_compiler.errors import ContractInputError

        fds = descriptor_pb2.FileDescriptorSet()
        try:
            fds.ParseFromString(data)
        except DecodeError as exc:
            raise ContractInputError(
                f"not a protobuf FileDescriptorSet: {exc}",
                hint="write one with `protoc --include_imports --descriptor_set_out=FILE`",
            ) from None
        known = {_file_proto(m).name for m in _WKT_MODULES}
        return cls(f for f in fds.file if f.name not in known)

    def find(self, name: str) -> Descriptor | None:
        """The message descriptor with full name ``name``, if registered."""
        try:
            return self.pool.FindMessageTypeByName(name.lstrip("."))
        except KeyError:
            return None

    def find_enum(self, name: str) -> EnumDescriptor | None:
        """The enum descriptor with full name ``name``, if registered."""
        try:
            return self.pool.FindEnumTypeByName(name.lstrip("."))
        except KeyError:
            return None

    def resolve(self, name: str, container: str = "") -> Descriptor | None:
        """A message type named ``name`` as seen from ``container`` (CEL's name resolution)."""
        for candidate in candidates(name, container):
            found = self.find(candidate)
            if found is not None:
                return found
        return None

    def constant(self, name: str, container: str = "") -> tuple[bool, Any]:
        """``(True, value)`` when ``name`` is a message type (a type value) or an enum constant."""
        for candidate in candidates(name, container):
            desc = self.find(candidate)
            if desc is not None:
                return True, CelType(desc.full_name)
            enum = self.find_enum(candidate)
            if enum is not None:
                return True, CelType("int")
            head, _, last = candidate.rpartition(".")
            if head:
                enum = self.find_enum(head)
                if enum is not None and last in enum.values_by_name:
                    return True, enum.values_by_name[last].number
        return False, None

    def message_class(self, desc: Descriptor) -> type[Message]:
        """The (cached) Python class for messages of ``desc``."""
        return _class_of(desc)


def candidates(name: str, container: str) -> list[str]:
    """The full names CEL tries for ``name`` in ``container``, most specific first."""
    if name.startswith("."):
        return [name[1:]]
    out: list[str] = []
    if container:
        segs = container.split(".")
        out = [".".join(segs[:i]) + "." + name for i in range(len(segs), 0, -1)]
    out.append(name)
    return out


_DEFAULT: MessageTypes | None = None


def default_types() -> MessageTypes:
    """The registry with only the well-known types (shared, read-only use)."""
    global _DEFAULT  # noqa: PLW0603 - built once on first use
    if _DEFAULT is None:
        _DEFAULT = MessageTypes()
    return _DEFAULT


# ---------------------------------------------------------------- protobuf -> CEL
def message_to_cel(msg: Message) -> Any:
    """The CEL value of a message: well-known types unwrapped, others the message itself."""
    name = msg.DESCRIPTOR.full_name
    if name in WRAPPERS:
        v = msg.value  # type: ignore[attr-defined]
        return _scalar_to_cel(msg.DESCRIPTOR.fields_by_name["value"], v)
    if name == _TIMESTAMP:
        return Timestamp(msg.seconds * _NS + msg.nanos)  # type: ignore[attr-defined]
    if name == _DURATION:
        return Duration(msg.seconds * _NS + msg.nanos)  # type: ignore[attr-defined]
    if name == _ANY:
        return message_to_cel(unpack_any(msg))
    if name == _VALUE:
        return _json_value_to_cel(msg)
    if name == _STRUCT:
        return {
            k: _json_value_to_cel(v)
            for k, v in sorted(msg.fields.items())  # type: ignore[attr-defined]
        }
    if name == _LIST:
        return [_json_value_to_cel(v) for v in msg.values]  # type: ignore[attr-defined]
    return msg


def unpack_any(msg: Message) -> Message:
    """The message packed in an ``Any``; an error when its type is unknown or bytes are bad."""
    url: str = msg.type_url  # type: ignore[attr-defined]
    type_name = url.rsplit("/", 1)[-1]
    pool = msg.DESCRIPTOR.file.pool
    try:
        desc = pool.FindMessageTypeByName(type_name)
    except KeyError:
        raise CelEvalError(f"cannot unpack Any: unknown type {url!r}") from None
    inner = _class_of(desc)()
    try:
        inner.ParseFromString(msg.value)  # type: ignore[attr-defined]
    except DecodeError:
        raise CelEvalError(f"cannot unpack Any of type {type_name}: malformed bytes") from None
    return inner


def _json_value_to_cel(v: Message) -> Any:
    kind = v.WhichOneof("kind")
    if kind is None or kind == "null_value":
        return None
    if kind == "number_value":
        return float(v.number_value)  # type: ignore[attr-defined]
    if kind == "string_value":
        return str(v.string_value)  # type: ignore[attr-defined]
    if kind == "bool_value":
        return bool(v.bool_value)  # type: ignore[attr-defined]
    if kind == "struct_value":
        return message_to_cel(v.struct_value)  # type: ignore[attr-defined]
    return message_to_cel(v.list_value)  # type: ignore[attr-defined]


def _scalar_to_cel(fd: FieldDescriptor, v: Any) -> Any:
    t = fd.type
    if t in _SIGNED or t == _T.TYPE_ENUM:
        return int(v)
    if t in _UNSIGNED:
        return UInt(v)
    if t in _FLOATS:
        return float(v)
    if t == _T.TYPE_BOOL:
        return bool(v)
    if t == _T.TYPE_STRING:
        return str(v)
    if t == _T.TYPE_BYTES:
        return bytes(v)
    raise CelEvalError(f"unsupported protobuf field type {t}")  # pragma: no cover


def _is_null_enum(fd: FieldDescriptor) -> bool:
    return bool(fd.type == _T.TYPE_ENUM and fd.enum_type.full_name == _NULL_ENUM)


def _element_to_cel(fd: FieldDescriptor, v: Any) -> Any:
    if fd.type in (_T.TYPE_MESSAGE, _T.TYPE_GROUP):
        return message_to_cel(v)
    if _is_null_enum(fd):
        return None
    return _scalar_to_cel(fd, v)


def _is_map(fd: FieldDescriptor) -> bool:
    mt = fd.message_type
    return mt is not None and mt.GetOptions().map_entry and _is_repeated(fd)


def _is_repeated(fd: FieldDescriptor) -> bool:
    return bool(fd.is_repeated)


def field_to_cel(msg: Message, fd: FieldDescriptor) -> Any:
    """The CEL value of field ``fd`` of ``msg`` (set or not, as CEL reads it)."""
    v = _raw(msg, fd)
    if _is_map(fd):
        key_fd = fd.message_type.fields_by_name["key"]
        val_fd = fd.message_type.fields_by_name["value"]
        return {
            map_key(_scalar_to_cel(key_fd, k)): _element_to_cel(val_fd, v[k]) for k in sorted(v)
        }
    if _is_repeated(fd):
        return [_element_to_cel(fd, x) for x in v]
    if fd.type in (_T.TYPE_MESSAGE, _T.TYPE_GROUP):
        name = fd.message_type.full_name
        if not _present(msg, fd) and (name in WRAPPERS or name in (_VALUE, _ANY)):
            return None
        return message_to_cel(v)
    if _is_null_enum(fd):
        return None
    return _scalar_to_cel(fd, v)


def find_extension(desc: Descriptor, name: str) -> FieldDescriptor | None:
    """The extension field ``name`` (a full name) of message type ``desc``, if registered."""
    if "." not in name:
        return None
    try:
        ext = desc.file.pool.FindExtensionByName(name)
    except KeyError:
        return None
    return ext if ext.containing_type.full_name == desc.full_name else None


def _field(msg: Message, name: str) -> FieldDescriptor:
    fd = msg.DESCRIPTOR.fields_by_name.get(name)
    if fd is None:
        fd = find_extension(msg.DESCRIPTOR, name)
    if fd is None:
        raise CelEvalError(f"no such field {name!r} in {msg.DESCRIPTOR.full_name}")
    return fd


def _raw(msg: Message, fd: FieldDescriptor) -> Any:
    """The stored value of a field or an extension (protobuf keeps them apart)."""
    if fd.is_extension:
        return msg.Extensions[fd]
    return getattr(msg, fd.name)


def _present(msg: Message, fd: FieldDescriptor) -> bool:
    if fd.is_extension:
        return bool(msg.HasExtension(fd))
    return bool(msg.HasField(fd.name))


def message_select(msg: Message, name: str) -> Any:
    """``msg.name``: the field's CEL value (unset fields read as their default)."""
    return field_to_cel(msg, _field(msg, name))


def message_has(msg: Message, name: str) -> bool:
    """``has(msg.name)``: presence for fields that track it, non-default for proto3 scalars."""
    fd = _field(msg, name)
    if _is_repeated(fd):
        return len(_raw(msg, fd)) > 0
    if fd.has_presence:
        return _present(msg, fd)
    return bool(_raw(msg, fd) != fd.default_value)


def message_eq(a: Message, b: Message) -> bool:
    """CEL equality of two messages: same type, same set fields, fields equal under CEL ``==``."""
    if a.DESCRIPTOR.full_name != b.DESCRIPTOR.full_name:
        return False
    fa = a.ListFields()
    fb = b.ListFields()
    if [f.number for f, _ in fa] != [f.number for f, _ in fb]:
        return False
    for fd, _ in fa:
        if fd.message_type is not None and fd.message_type.full_name == _ANY:
            if _is_repeated(fd):
                xs, ys = _raw(a, fd), _raw(b, fd)
                if len(xs) != len(ys) or not all(
                    _any_eq(x, y) for x, y in zip(xs, ys, strict=True)
                ):
                    return False
                continue
            if not _any_eq(_raw(a, fd), _raw(b, fd)):
                return False
            continue
        try:
            if not cel_eq(field_to_cel(a, fd), field_to_cel(b, fd)):
                return False
        except CelEvalError:
            return False
    return True


def _any_eq(x: Message, y: Message) -> bool:
    try:
        ux, uy = unpack_any(x), unpack_any(y)
    except CelEvalError:
        return bool(x.type_url == y.type_url and x.value == y.value)  # type: ignore[attr-defined]
    return cel_eq(message_to_cel(ux), message_to_cel(uy))


# ---------------------------------------------------------------- CEL -> protobuf
def _range(what: str) -> CelEvalError:
    return CelEvalError(f"range error: value does not fit {what}")


def _mismatch(fd: FieldDescriptor, v: Any) -> CelEvalError:
    from contract_executable_compiler._values import type_name

    return CelEvalError(
        f"no such overload: field {fd.full_name} cannot hold a {type_name(v)} value"
    )


def _scalar_from_cel(fd: FieldDescriptor, v: Any) -> Any:
    t = fd.type
    tv = type(v)
    if t in _SIGNED or t == _T.TYPE_ENUM:
        if tv is not int:
            raise _mismatch(fd, v)
        if (t in _NARROW or t == _T.TYPE_ENUM) and not _INT32[0] <= v <= _INT32[1]:
            raise _range("int32")
        return int(v)
    if t in _UNSIGNED:
        if tv is not UInt:
            raise _mismatch(fd, v)
        if t in _NARROW and v > _UINT32_MAX:
            raise _range("uint32")
        return int(v)
    if t in _FLOATS:
        if tv is not float:
            raise _mismatch(fd, v)
        if t == _T.TYPE_FLOAT and math.isfinite(v) and abs(v) > _FLOAT32_MAX:
            return math.copysign(math.inf, v)
        return v
    if t == _T.TYPE_BOOL and tv is bool:
        return v
    if t == _T.TYPE_STRING and tv is str:
        return v
    if t == _T.TYPE_BYTES and tv is bytes:
        return v
    raise _mismatch(fd, v)


def _fill_message(target: Message, v: Any) -> None:
    """Write CEL value ``v`` into ``target`` (a message field), converting well-known types."""
    name = target.DESCRIPTOR.full_name
    if isinstance(v, Message) and v.DESCRIPTOR.full_name == name:
        target.CopyFrom(v)
        return
    if name in WRAPPERS:
        target.value = _scalar_from_cel(  # type: ignore[attr-defined]
            target.DESCRIPTOR.fields_by_name["value"], v
        )
        return
    if name == _TIMESTAMP and type(v) is Timestamp:
        target.seconds, target.nanos = divmod(v.ns, _NS)  # type: ignore[attr-defined]
        return
    if name == _DURATION and type(v) is Duration:
        secs = -((-v.ns) // _NS) if v.ns < 0 else v.ns // _NS
        target.seconds, target.nanos = secs, v.ns - secs * _NS  # type: ignore[attr-defined]
        return
    if name == _VALUE:
        _json_value_from_cel(target, v)
        return
    if name == _STRUCT and type(v) is dict:
        _struct_from_cel(target, v)
        return
    if name == _LIST and type(v) is list:
        for x in v:
            _json_value_from_cel(target.values.add(), x)  # type: ignore[attr-defined]
        return
    if name == _ANY:
        _pack_any(target, v)
        return
    raise CelEvalError(f"no such overload: cannot convert a value to {name}")


def _struct_from_cel(target: Message, v: dict[Any, Any]) -> None:
    for k, x in v.items():
        key = unmap_key(k)
        if type(key) is not str:
            raise CelEvalError("bad key type: google.protobuf.Struct keys must be strings")
        _json_value_from_cel(target.fields[key], x)  # type: ignore[attr-defined]


def _json_value_from_cel(target: Message, v: Any) -> None:
    """``google.protobuf.Value`` from a CEL value, as CEL's JSON conversion defines it."""
    from contract_executable_compiler._timefmt import format_duration, format_timestamp

    tv = type(v)
    if v is None:
        target.null_value = struct_pb2.NULL_VALUE  # type: ignore[attr-defined]
    elif tv is bool:
        target.bool_value = v  # type: ignore[attr-defined]
    elif tv is int or tv is UInt:
        if abs(v) > 2**53 - 1:
            target.string_value = str(int(v))  # type: ignore[attr-defined]
        else:
            target.number_value = float(v)  # type: ignore[attr-defined]
    elif tv is float:
        target.number_value = v  # type: ignore[attr-defined]
    elif tv is str:
        target.string_value = v  # type: ignore[attr-defined]
    elif tv is bytes:
        target.string_value = base64.b64encode(v).decode("ascii")  # type: ignore[attr-defined]
    elif tv is Timestamp:
        target.string_value = format_timestamp(v.ns)  # type: ignore[attr-defined]
    elif tv is Duration:
        target.string_value = format_duration(v.ns)  # type: ignore[attr-defined]
    elif tv is list:
        lv = target.list_value  # type: ignore[attr-defined]
        lv.SetInParent()
        for x in v:
            _json_value_from_cel(lv.values.add(), x)
    elif tv is dict:
        sv = target.struct_value  # type: ignore[attr-defined]
        sv.SetInParent()
        _struct_from_cel(sv, v)
    elif isinstance(v, Message):
        from google.protobuf import json_format

        pool: Any = v.DESCRIPTOR.file.pool
        as_json = json_format.MessageToDict(v, descriptor_pool=pool)
        target.ParseFromString(
            json_format.ParseDict(as_json, struct_pb2.Value()).SerializeToString()
        )
    else:
        raise CelEvalError(f"no such overload: cannot convert {tv.__name__} to JSON")


_ANY_OF_SCALAR: Final[dict[type, tuple[type[Message], Any]]] = {
    bool: (wrappers_pb2.BoolValue, None),
    int: (wrappers_pb2.Int64Value, None),
    UInt: (wrappers_pb2.UInt64Value, None),
    float: (wrappers_pb2.DoubleValue, None),
    str: (wrappers_pb2.StringValue, None),
    bytes: (wrappers_pb2.BytesValue, None),
}


def _pack_any(target: Message, v: Any) -> None:
    tv = type(v)
    pool = target.DESCRIPTOR.file.pool
    if isinstance(v, Message):
        inner: Message = v
    elif tv in _ANY_OF_SCALAR:
        desc = pool.FindMessageTypeByName(_ANY_OF_SCALAR[tv][0].DESCRIPTOR.full_name)
        inner = _class_of(desc)()
        inner.value = v  # type: ignore[attr-defined]
    else:
        kind = {
            Timestamp: _TIMESTAMP, Duration: _DURATION, dict: _STRUCT, list: _LIST,
            type(None): _VALUE,
        }.get(tv)  # fmt: skip
        if kind is None:
            raise CelEvalError(f"no such overload: cannot pack {tv.__name__} into Any")
        inner = _class_of(pool.FindMessageTypeByName(kind))()
        _fill_message(inner, v)
    target.type_url = _URL_PREFIX + inner.DESCRIPTOR.full_name  # type: ignore[attr-defined]
    target.value = inner.SerializeToString(deterministic=True)  # type: ignore[attr-defined]


def _set_field(msg: Message, fd: FieldDescriptor, v: Any) -> None:
    if _is_map(fd):
        if type(v) is not dict:
            raise _mismatch(fd, v)
        key_fd = fd.message_type.fields_by_name["key"]
        val_fd = fd.message_type.fields_by_name["value"]
        target = getattr(msg, fd.name)
        for k, x in v.items():
            key = _scalar_from_cel(key_fd, unmap_key(k))
            if x is None and val_fd.type == _T.TYPE_MESSAGE and _prunes_null(val_fd):
                continue  # a null entry of a message-valued map is dropped
            if val_fd.type == _T.TYPE_MESSAGE:
                _fill_message(target[key], x)
            else:
                target[key] = _element_from_cel(val_fd, x)
        return
    if _is_repeated(fd):
        if type(v) is not list:
            raise _mismatch(fd, v)
        target = getattr(msg, fd.name)
        for x in v:
            if x is None and fd.type == _T.TYPE_MESSAGE and _prunes_null(fd):
                continue  # a null element of a repeated message field is dropped
            if fd.type in (_T.TYPE_MESSAGE, _T.TYPE_GROUP):
                _fill_message(target.add(), x)
            else:
                target.append(_element_from_cel(fd, x))
        return
    if fd.type in (_T.TYPE_MESSAGE, _T.TYPE_GROUP):
        name = fd.message_type.full_name
        if v is None and name in (_STRUCT, _LIST):
            raise CelEvalError(f"unsupported field type: {name} field {fd.name} cannot be null")
        if v is None and name != _VALUE:
            return  # null leaves a message field unset
        if isinstance(v, Message) and v.DESCRIPTOR.full_name != name and name not in (_ANY, _VALUE):
            raise _mismatch(fd, v)
        sub = getattr(msg, fd.name)
        _fill_message(sub, v)
        sub.SetInParent()
        return
    setattr(msg, fd.name, _element_from_cel(fd, v))


def _prunes_null(fd: FieldDescriptor) -> bool:
    return fd.message_type.full_name not in (_VALUE, _ANY)


def _element_from_cel(fd: FieldDescriptor, v: Any) -> Any:
    if _is_null_enum(fd):
        if v is not None and not (type(v) is int and v == 0):
            raise _mismatch(fd, v)
        return 0
    return _scalar_from_cel(fd, v)


def build_message(
    types: MessageTypes, type_name: str, fields: Mapping[str, Any] | Iterable[tuple[str, Any]]
) -> Any:
    """``TypeName{field: value, ...}``: a new message as a CEL value (well-known types unwrapped)."""
    desc = types.find(type_name)
    if desc is None:
        raise CelEvalError(f"unknown message type {type_name!r}")
    msg = types.message_class(desc)()
    items = fields.items() if isinstance(fields, Mapping) else fields
    for written, given in items:
        name, v = written, given
        if written.startswith("?"):
            from contract_executable_compiler._optional import Optional

            if type(given) is not Optional:
                raise CelEvalError(f"no such overload: {written} needs an optional value")
            if not given.present:
                continue
            name, v = written[1:], given.value
        fd = desc.fields_by_name.get(name)
        if fd is None:
            raise CelEvalError(f"no such field {name!r} in {type_name}")
        _set_field(msg, fd, v)
    return message_to_cel(msg)
