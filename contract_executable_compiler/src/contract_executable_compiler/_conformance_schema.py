"""The protobuf types cel-spec's conformance tests use, built as descriptors in code.

The corpus under ``shared/corpora/cel-spec`` names
``cel.expr.conformance.proto2.TestAllTypes`` and its proto3 twin,
``NestedTestAllTypes`` and ``GlobalEnum``, but ships no descriptors.  This
module describes those types field by field (names, numbers and types as
the conformance suite defines them: several tests pack messages into
``google.protobuf.Any`` as raw bytes, so the numbers must match) and builds
``FileDescriptorProto`` values from the table, so no ``protoc`` is needed.
"""

from __future__ import annotations

from typing import Any, Final

from google.protobuf import descriptor_pb2

from contract_executable_compiler._messages import MessageTypes

__all__ = ["conformance_types"]

F = descriptor_pb2.FieldDescriptorProto
_SCALARS: Final = {
    "int32": F.TYPE_INT32, "int64": F.TYPE_INT64, "uint32": F.TYPE_UINT32,
    "uint64": F.TYPE_UINT64, "sint32": F.TYPE_SINT32, "sint64": F.TYPE_SINT64,
    "fixed32": F.TYPE_FIXED32, "fixed64": F.TYPE_FIXED64, "sfixed32": F.TYPE_SFIXED32,
    "sfixed64": F.TYPE_SFIXED64, "float": F.TYPE_FLOAT, "double": F.TYPE_DOUBLE,
    "bool": F.TYPE_BOOL, "string": F.TYPE_STRING, "bytes": F.TYPE_BYTES,
}  # fmt: skip
_WKT: Final = {
    "any": ".google.protobuf.Any", "duration": ".google.protobuf.Duration",
    "timestamp": ".google.protobuf.Timestamp", "struct": ".google.protobuf.Struct",
    "value": ".google.protobuf.Value", "int64_wrapper": ".google.protobuf.Int64Value",
    "int32_wrapper": ".google.protobuf.Int32Value",
    "double_wrapper": ".google.protobuf.DoubleValue",
    "float_wrapper": ".google.protobuf.FloatValue",
    "uint64_wrapper": ".google.protobuf.UInt64Value",
    "uint32_wrapper": ".google.protobuf.UInt32Value",
    "string_wrapper": ".google.protobuf.StringValue",
    "bool_wrapper": ".google.protobuf.BoolValue",
    "bytes_wrapper": ".google.protobuf.BytesValue", "list_value": ".google.protobuf.ListValue",
    "field_mask": ".google.protobuf.FieldMask", "empty": ".google.protobuf.Empty",
}  # fmt: skip
_NULL: Final = ".google.protobuf.NullValue"

# (name, number, kind, proto2 default): the singular scalar fields.
_SINGULAR: Final = (
    ("int32", 1, "-32"), ("int64", 2, "-64"), ("uint32", 3, "32"), ("uint64", 4, "64"),
    ("sint32", 5, None), ("sint64", 6, None), ("fixed32", 7, None), ("fixed64", 8, None),
    ("sfixed32", 9, None), ("sfixed64", 10, None), ("float", 11, "3"), ("double", 12, "6.4"),
    ("bool", 13, "true"), ("string", 14, "empty"), ("bytes", 15, "none"),
)  # fmt: skip
_WKT_SINGULAR: Final = (
    "any", "duration", "timestamp", "struct", "value", "int64_wrapper", "int32_wrapper",
    "double_wrapper", "float_wrapper", "uint64_wrapper", "uint32_wrapper", "string_wrapper",
    "bool_wrapper", "bytes_wrapper",
)  # fmt: skip
_MAP_KEYS: Final = ("bool", "int32", "int64", "uint32", "uint64", "string")
_MAP_VALUES_1: Final = (
    "bool", "string", "bytes", "int32", "int64", "uint32", "uint64", "float", "double", "enum",
    "message",
)  # fmt: skip
_MAP_NUMBERS_1: Final = {
    "bool": list(range(63, 74)),
    "int32": list(range(74, 85)),
    "int64": list(range(85, 96)),
    "uint32": [96, 97, 98, 99, *range(200, 207)],
    "uint64": list(range(207, 218)),
    "string": [218, 61, *range(219, 228)],
}
_MAP_VALUES_2: Final = ("duration", "timestamp", "null_value")
_MAP_BASE_2: Final = {"bool": 228, "int32": 231, "int64": 234, "uint32": 237, "uint64": 240,
                      "string": 243}  # fmt: skip
_MAP_VALUES_3: Final = (
    "any", "struct", "value", "list_value", "int64_wrapper", "int32_wrapper", "double_wrapper",
    "float_wrapper", "uint64_wrapper", "uint32_wrapper", "string_wrapper", "bool_wrapper",
    "bytes_wrapper",
)  # fmt: skip
_MAP_BASE_3: Final = {"bool": 246, "int32": 259, "int64": 272, "uint32": 285, "uint64": 298,
                      "string": 311}  # fmt: skip
_KEYWORDS: Final = (
    "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let",
    "loop", "package", "namespace", "return", "var", "void", "while",
)  # fmt: skip


class _Message:
    """Builds one DescriptorProto; ``kind`` strings name scalars, WKTs or local types."""

    def __init__(self, proto: descriptor_pb2.DescriptorProto, package: str, proto2: bool) -> None:
        self.proto = proto
        self.package = package
        self.proto2 = proto2

    def _type(self, f: descriptor_pb2.FieldDescriptorProto, kind: str) -> None:
        if kind in _SCALARS:
            f.type = _SCALARS[kind]
        elif kind in _WKT:
            f.type, f.type_name = F.TYPE_MESSAGE, _WKT[kind]
        elif kind == "null_value":
            f.type, f.type_name = F.TYPE_ENUM, _NULL
        elif kind == "enum":
            f.type, f.type_name = F.TYPE_ENUM, f".{self.package}.TestAllTypes.NestedEnum"
        elif kind == "message":
            f.type, f.type_name = F.TYPE_MESSAGE, f".{self.package}.TestAllTypes.NestedMessage"
        else:
            f.type, f.type_name = F.TYPE_MESSAGE, f".{self.package}.{kind}"

    def add(
        self,
        name: str,
        number: int,
        kind: str,
        *,
        repeated: bool = False,
        default: str | None = None,
        oneof: int | None = None,
        proto3_optional: bool = False,
    ) -> None:
        f = self.proto.field.add(name=name, number=number)
        f.label = F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL
        self._type(f, kind)
        if default is not None and self.proto2:
            f.default_value = default
        if oneof is not None:
            f.oneof_index = oneof
        if proto3_optional:
            f.proto3_optional = True
            f.oneof_index = len(self.proto.oneof_decl)
            self.proto.oneof_decl.add(name=f"_{name}")

    def add_map(self, name: str, number: int, key: str, value: str) -> None:
        entry_name = "".join(p.capitalize() for p in name.split("_")) + "Entry"
        entry = self.proto.nested_type.add(name=entry_name)
        entry.options.map_entry = True
        sub = _Message(entry, self.package, False)
        sub.add("key", 1, key)
        sub.add("value", 2, value)
        f = self.proto.field.add(name=name, number=number, label=F.LABEL_REPEATED)
        f.type = F.TYPE_MESSAGE
        f.type_name = f".{self.package}.TestAllTypes.{entry_name}"


def _test_all_types(package: str, proto2: bool) -> descriptor_pb2.FileDescriptorProto:
    fdp = descriptor_pb2.FileDescriptorProto(
        name=f"cel/expr/conformance/{'proto2' if proto2 else 'proto3'}/test_all_types.proto",
        package=package,
        syntax="proto2" if proto2 else "proto3",
        dependency=[
            f"google/protobuf/{n}.proto"
            for n in ("any", "duration", "empty", "field_mask", "struct", "timestamp", "wrappers")
        ],
    )
    msg = fdp.message_type.add(name="TestAllTypes")
    m = _Message(msg, package, proto2)
    nested = msg.nested_type.add(name="NestedMessage")
    _Message(nested, package, proto2).add("bb", 1, "int32")
    enum = msg.enum_type.add(name="NestedEnum")
    for i, n in enumerate(("FOO", "BAR", "BAZ")):
        enum.value.add(name=n, number=i)
    msg.oneof_decl.add(name="nested_type")
    msg.oneof_decl.add(name="kind")
    for kind, number, default in _SINGULAR:
        m.add(f"single_{kind}", number, kind, default=default)
    if not proto2:
        m.add("optional_bool", 16, "bool", proto3_optional=True)
        m.add("optional_string", 17, "string", proto3_optional=True)
    m.add("in", 18, "bool")
    for i, kind in enumerate(_WKT_SINGULAR):
        m.add(f"single_{kind}" if kind != "list_value" else kind, 100 + i, kind)
    m.add("list_value", 114, "list_value")
    m.add("null_value", 115, "null_value")
    m.add("optional_null_value", 116, "null_value", proto3_optional=not proto2)
    m.add("field_mask", 117, "field_mask")
    m.add("empty", 118, "empty")
    m.add("single_nested_message", 21, "message", oneof=0)
    m.add("single_nested_enum", 22, "enum", oneof=0, default="BAR")
    m.add("standalone_message", 23, "message")
    m.add("standalone_enum", 24, "enum")
    for kind, number, _ in _SINGULAR:
        m.add(f"repeated_{kind}", 30 + number, kind, repeated=True)
    m.add("repeated_nested_message", 51, "message", repeated=True)
    m.add("repeated_nested_enum", 52, "enum", repeated=True)
    m.add("repeated_string_piece", 53, "string", repeated=True)
    m.add("repeated_cord", 54, "string", repeated=True)
    m.add("repeated_lazy_message", 55, "message", repeated=True)
    for i, kind in enumerate((*_WKT_SINGULAR, "list_value", "null_value")):
        m.add(f"repeated_{kind}", 120 + i, kind, repeated=True)
    m.add_map("map_int64_nested_type", 62, "int64", "NestedTestAllTypes")
    for key in _MAP_KEYS:
        for value, number in zip(_MAP_VALUES_1, _MAP_NUMBERS_1[key], strict=True):
            m.add_map(f"map_{key}_{value}", number, key, value)
        for i, value in enumerate(_MAP_VALUES_2):
            m.add_map(f"map_{key}_{value}", _MAP_BASE_2[key] + i, key, value)
        for i, value in enumerate(_MAP_VALUES_3):
            m.add_map(f"map_{key}_{value}", _MAP_BASE_3[key] + i, key, value)
    m.add("oneof_type", 400, "NestedTestAllTypes", oneof=1)
    m.add("oneof_msg", 401, "message", oneof=1)
    m.add("oneof_bool", 402, "bool", oneof=1)
    if proto2:
        nested_group = _Message(msg.nested_type.add(name="NestedGroup"), package, proto2)
        nested_group.add("single_id", 404, "int32")
        nested_group.add("single_name", 405, "string")
        f = msg.field.add(name="nestedgroup", number=403, label=F.LABEL_OPTIONAL)
        f.type = F.TYPE_GROUP
        f.type_name = f".{package}.TestAllTypes.NestedGroup"
    for i, word in enumerate(_KEYWORDS):
        m.add(word, 500 + i, "bool")
    nested_all = fdp.message_type.add(name="NestedTestAllTypes")
    nested_builder = _Message(nested_all, package, proto2)
    nested_builder.add("child", 1, "NestedTestAllTypes")
    nested_builder.add("payload", 2, "TestAllTypes")
    if proto2:
        msg.extension_range.add(start=1000, end=536870912)
        required = fdp.message_type.add(name="TestRequired")
        f = required.field.add(name="required_int32", number=1, label=F.LABEL_REQUIRED)
        f.type = F.TYPE_INT32
    genum = fdp.enum_type.add(name="GlobalEnum")
    for i, name in enumerate(("GOO", "GAR", "GAZ")):
        genum.value.add(name=name, number=i)
    return fdp


def _extensions(package: str) -> descriptor_pb2.FileDescriptorProto:
    """proto2 extensions of ``TestAllTypes``, package scoped and message scoped."""
    fdp = descriptor_pb2.FileDescriptorProto(
        name="cel/expr/conformance/proto2/test_all_types_extensions.proto",
        package=package,
        syntax="proto2",
        dependency=["cel/expr/conformance/proto2/test_all_types.proto"],
    )
    extendee = f".{package}.TestAllTypes"

    def ext(into: Any, name: str, number: int, kind: str, *, repeated: bool = False) -> None:
        f = into.add(name=name, number=number, extendee=extendee)
        f.label = F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL
        if kind == "int32":
            f.type = F.TYPE_INT32
        elif kind == "int64":
            f.type = F.TYPE_INT64
        elif kind == "enum":
            f.type, f.type_name = F.TYPE_ENUM, f".{package}.TestAllTypes.NestedEnum"
        else:
            f.type, f.type_name = F.TYPE_MESSAGE, f".{package}.TestAllTypes"

    ext(fdp.extension, "int32_ext", 1000, "int32")
    ext(fdp.extension, "nested_ext", 1001, "message")
    ext(fdp.extension, "test_all_types_ext", 1002, "message")
    ext(fdp.extension, "nested_enum_ext", 1003, "enum")
    ext(fdp.extension, "repeated_test_all_types", 1004, "message", repeated=True)
    scoped = fdp.message_type.add(name="Proto2ExtensionScopedMessage")
    ext(scoped.extension, "int64_ext", 1005, "int64")
    ext(scoped.extension, "message_scoped_nested_ext", 1006, "message")
    ext(scoped.extension, "nested_enum_ext", 1007, "enum")
    ext(scoped.extension, "message_scoped_repeated_test_all_types", 1008, "message", repeated=True)
    return fdp


_CACHE: list[MessageTypes] = []


def conformance_types() -> MessageTypes:
    """A registry with the well-known types and both conformance ``TestAllTypes`` packages."""
    if not _CACHE:
        _CACHE.append(
            MessageTypes(
                [
                    _test_all_types("cel.expr.conformance.proto2", proto2=True),
                    _extensions("cel.expr.conformance.proto2"),
                    _test_all_types("cel.expr.conformance.proto3", proto2=False),
                ]
            )
        )
    return _CACHE[0]
