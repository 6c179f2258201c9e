"""Protobuf messages in CEL: a user's own descriptors, construction, selection, has(), equality."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from contract_executable_compiler import (
    ContractBytecodeError,
    ContractCompileError,
    ContractInputError,
    Declarations,
    MessageTypes,
    T,
    UInt,
    compile_expression,
    load_expression,
)
from contract_executable_compiler._checker import CelTypeT
from contract_executable_compiler.cli import main
from shared_core.testing import run_cli

F = descriptor_pb2.FieldDescriptorProto


def _orders_file() -> descriptor_pb2.FileDescriptorProto:
    """``acme.Order``: scalars, an enum, a nested message, repeated, map and a wrapper."""
    fdp = descriptor_pb2.FileDescriptorProto(
        name="acme/order.proto",
        package="acme",
        syntax="proto3",
        dependency=["google/protobuf/wrappers.proto", "google/protobuf/timestamp.proto"],
    )
    status = fdp.enum_type.add(name="Status")
    for i, n in enumerate(("NEW", "PAID", "SHIPPED")):
        status.value.add(name=n, number=i)
    item = fdp.message_type.add(name="Item")
    item.field.add(name="sku", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    item.field.add(name="price", number=2, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    order = fdp.message_type.add(name="Order")
    order.field.add(name="qty", number=1, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    order.field.add(name="units", number=2, type=F.TYPE_UINT32, label=F.LABEL_OPTIONAL)
    order.field.add(name="ratio", number=3, type=F.TYPE_DOUBLE, label=F.LABEL_OPTIONAL)
    order.field.add(
        name="status", number=4, type=F.TYPE_ENUM, type_name=".acme.Status", label=F.LABEL_OPTIONAL
    )
    order.field.add(
        name="items", number=5, type=F.TYPE_MESSAGE, type_name=".acme.Item", label=F.LABEL_REPEATED
    )
    entry = order.nested_type.add(name="TagsEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    entry.field.add(name="value", number=2, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    order.field.add(
        name="tags",
        number=6,
        type=F.TYPE_MESSAGE,
        type_name=".acme.Order.TagsEntry",
        label=F.LABEL_REPEATED,
    )
    order.field.add(
        name="limit",
        number=7,
        type=F.TYPE_MESSAGE,
        type_name=".google.protobuf.Int64Value",
        label=F.LABEL_OPTIONAL,
    )
    order.field.add(
        name="placed",
        number=8,
        type=F.TYPE_MESSAGE,
        type_name=".google.protobuf.Timestamp",
        label=F.LABEL_OPTIONAL,
    )
    order.field.add(
        name="first", number=9, type=F.TYPE_MESSAGE, type_name=".acme.Item", label=F.LABEL_OPTIONAL
    )
    return fdp


TYPES = MessageTypes([_orders_file()])


def ev(text: str, **bindings: object) -> object:
    return compile_expression(text, container="acme", types=TYPES).evaluate(bindings)


class TestConstructionAndSelection:
    def test_scalars_read_back_as_cel_types(self) -> None:
        """int32 reads as int, uint32 as uint, enums as int; unset fields read as defaults."""
        assert ev("Order{qty: 3}.qty") == 3
        assert ev("Order{units: 7u}.units") == UInt(7)
        assert type(ev("Order{units: 7u}.units")) is UInt
        assert ev("Order{status: Status.PAID}.status") == 1
        assert ev("Order{}.ratio") == 0.0
        assert ev("Order{}.first.sku") == ""

    def test_repeated_map_and_nested(self) -> None:
        """Repeated fields are lists, maps are dicts, nested messages select further."""
        expr = "Order{items: [Item{sku: 'a', price: 5}, Item{sku: 'b', price: 7}]}"
        assert ev(f"{expr}.items.map(i, i.price)") == [5, 7]
        assert ev(f"{expr}.items.exists(i, i.sku == 'b')") is True
        assert ev("Order{tags: {'x': 1, 'y': 2}}.tags['y']") == 2

    def test_wrappers_and_timestamps(self) -> None:
        """An unset wrapper reads null, a set one its value; Timestamp fields are timestamps."""
        assert ev("Order{}.limit") is None
        assert ev("Order{limit: 9}.limit + 1") == 10
        assert ev("Order{placed: timestamp('2024-01-02T03:04:05Z')}.placed.getFullYear()") == 2024

    def test_has_follows_protobuf_presence(self) -> None:
        """proto3 scalars are present when non-default; messages when set; lists when non-empty."""
        assert ev("has(Order{qty: 1}.qty)") is True
        assert ev("has(Order{qty: 0}.qty)") is False
        assert ev("has(Order{first: Item{}}.first)") is True
        assert ev("has(Order{}.first)") is False
        assert ev("has(Order{}.items)") is False
        assert ev("has(Order{limit: 0}.limit)") is True

    def test_int32_range_is_checked(self) -> None:
        """CEL never wraps: an int too big for an int32 field is an error."""
        compiled = compile_expression("Order{qty: x}", container="acme", types=TYPES)
        assert compiled.run({"x": 2**31 - 1}).error is None
        result = compiled.run({"x": 2**31})
        assert result.error is not None
        assert "range" in result.error.message

    def test_equality_is_cel_equality(self) -> None:
        """Same fields compare equal; a NaN field makes messages unequal; types must match."""
        assert ev(
            "Order{qty: 1, items: [Item{sku: 'a'}]} == Order{qty: 1, items: [Item{sku: 'a'}]}"
        )
        assert ev("Order{qty: 1} != Order{qty: 2}") is True
        assert ev("Order{ratio: double('NaN')} == Order{ratio: double('NaN')}") is False
        assert ev("dyn(Order{}) == dyn(Item{})") is False

    def test_same_type_from_two_pools_compares_by_value(self) -> None:
        """Messages of one type made by two registries (or generated code) compare by value."""
        order_cls = TYPES.message_class(TYPES.find("acme.Order"))  # type: ignore[arg-type]
        other = MessageTypes([_orders_file()])
        other_cls = other.message_class(other.find("acme.Order"))  # type: ignore[arg-type]
        assert order_cls is not other_cls
        eq = compile_expression("a == b")
        assert eq.evaluate({"a": order_cls(qty=2), "b": other_cls(qty=2)}) is True
        assert eq.evaluate({"a": order_cls(qty=2), "b": other_cls(qty=3)}) is False

    def test_type_values(self) -> None:
        """``type(m)`` is the message's full name and equals the type identifier."""
        assert ev("type(Order{}) == Order") is True
        assert ev("type(Order{}) == acme.Order") is True
        assert str(ev("type(Item{})")) == "acme.Item"

    def test_message_bindings(self) -> None:
        """A message passed in as a variable is read like a constructed one."""
        order_cls = TYPES.message_class(TYPES.find("acme.Order"))  # type: ignore[arg-type]
        msg = order_cls(qty=4)
        assert ev("o.qty * 2", o=msg) == 8
        assert math.isclose(ev("o.ratio + 0.5", o=msg), 0.5)  # type: ignore[arg-type]


def test_proto_ext_macros_need_a_qualified_name() -> None:
    """proto.getExt's second argument names an extension; anything else is E0008."""
    with pytest.raises(ContractCompileError, match="E0008"):
        compile_expression("proto.getExt(m, 1 + 2)")


class TestChecker:
    def test_field_types_flow_through_the_checker(self) -> None:
        """Fields get their CEL types statically: int32 is int, the wrapper is wrapper(int)."""
        decls = Declarations({"o": CelTypeT("acme.Order")})
        compiled = compile_expression("o.qty + 1", declarations=decls, types=TYPES)
        assert compiled.result_type == T.INT
        compiled = compile_expression("o.items[0].sku", declarations=decls, types=TYPES)
        assert compiled.result_type == T.STRING
        compiled = compile_expression("o.tags", declarations=decls, types=TYPES)
        assert compiled.result_type == T.map_(T.STRING, T.INT)

    def test_unknown_field_is_e0102_with_a_suggestion(self) -> None:
        """A misspelt field names the message and the nearest field."""
        with pytest.raises(ContractCompileError) as info:
            compile_expression(
                "Order{qyt: 1}", declarations=Declarations({}), container="acme", types=TYPES
            )
        assert "E0102" in str(info.value)
        assert any(d.help == "did you mean 'qty'?" for d in info.value.diagnostics)

    def test_wrong_value_type_is_e0103(self) -> None:
        """Assigning a string to an int32 field does not check."""
        with pytest.raises(ContractCompileError) as info:
            compile_expression(
                "Order{qty: 'many'}", declarations=Declarations({}), container="acme", types=TYPES
            )
        assert "E0103" in str(info.value)

    def test_unknown_message_is_e0104(self) -> None:
        """A message type nobody registered is E0104."""
        with pytest.raises(ContractCompileError) as info:
            compile_expression("Nope{}", declarations=Declarations({}), types=TYPES)
        assert "E0104" in str(info.value)


class TestBytecode:
    def test_round_trip_with_the_same_types(self) -> None:
        """Bytecode that builds messages loads back against the same registry."""
        compiled = compile_expression("Order{qty: 2}.qty", container="acme", types=TYPES)
        data = compiled.to_bytes()
        assert (
            compile_expression("Order{qty: 2}.qty", container="acme", types=TYPES).to_bytes()
            == data
        )
        assert load_expression(data, types=TYPES).evaluate() == 2

    def test_load_without_the_types_is_refused(self) -> None:
        """Loading it without the descriptors fails clearly instead of at run time."""
        data = compile_expression("Order{qty: 2}", container="acme", types=TYPES).to_bytes()
        with pytest.raises(ContractBytecodeError, match=r"acme\.Order"):
            load_expression(data)


class TestDescriptorSets:
    def test_from_descriptor_set(self) -> None:
        """A serialised FileDescriptorSet (as protoc writes it) gives a working registry."""
        fds = descriptor_pb2.FileDescriptorSet(file=[_orders_file()])
        types = MessageTypes.from_descriptor_set(fds.SerializeToString())
        value = compile_expression("acme.Order{qty: 5}.qty", types=types).evaluate()
        assert value == 5

    def test_missing_import_is_an_input_error(self) -> None:
        """A file whose imports are absent is refused with the file's name."""
        broken = descriptor_pb2.FileDescriptorProto(
            name="x.proto", package="x", dependency=["nope.proto"]
        )
        with pytest.raises(ContractInputError, match=r"x\.proto"):
            MessageTypes([broken])

    @settings(max_examples=200, deadline=None)
    @given(st.binary(max_size=200))
    def test_arbitrary_bytes_never_escape_as_tracebacks(self, data: bytes) -> None:
        """Any bytes either load as a descriptor set or raise the package's input error."""
        with contextlib.suppress(ContractInputError):
            MessageTypes.from_descriptor_set(data)

    @settings(max_examples=200, deadline=None)
    @given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
    def test_int32_field_accepts_exactly_the_int32_range(self, n: int) -> None:
        """Every int64 either round-trips through the int32 field or is a range error."""
        result = compile_expression("Order{qty: x}.qty", container="acme", types=TYPES).run(
            {"x": n}
        )
        if -(2**31) <= n < 2**31:
            assert result.value == n
        else:
            assert result.error is not None


def test_cli_eval_with_descriptors(tmp_path: Path) -> None:
    """``cec eval --descriptors FDS`` builds and reads the user's messages."""
    fds = tmp_path / "order.fds"
    fds.write_bytes(descriptor_pb2.FileDescriptorSet(file=[_orders_file()]).SerializeToString())
    result = run_cli(
        main,
        ["eval", "Order{qty: 3, items: [Item{sku: 'a'}]}", "--container", "acme",
         "--descriptors", str(fds)],
    )  # fmt: skip
    assert result.code == 0, result.err
    assert '"type": "acme.Order"' in result.out
    assert '"qty": 3' in result.out
    bad = tmp_path / "bad.fds"
    bad.write_bytes(b"\xff\xff\xff")
    result = run_cli(main, ["eval", "1", "--descriptors", str(bad)])
    assert result.code == 2
    assert "FileDescriptorSet" in result.err
