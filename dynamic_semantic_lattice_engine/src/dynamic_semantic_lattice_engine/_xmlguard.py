"""A guard that RDF/XML input must pass before rdflib sees it.

rdflib parses RDF/XML with the standard library's SAX reader, which resolves
external entities in the document type declaration when asked to and leaves
entity-expansion limits to whichever expat the platform links.  Untrusted
documents therefore pass through defusedxml's expat reader first, configured
as follows:

* external entities (``SYSTEM``/``PUBLIC``), parameter entities and unparsed
  entities are refused (XXE, and DTD tricks that fetch or include files);
* internal general entities are allowed only when their replacement text
  holds no entity reference and is short: RDF/XML in the wild (the W3C OWL 2
  test cases among it) abbreviates namespace IRIs this way, and a flat
  entity cannot amplify, so the billion-laughs construction (entities built
  from entities) is refused at its first nested declaration.

A refused document raises :class:`LatticeRdfError`, the system's own error.
"""

from __future__ import annotations

import io
import xml.sax
from xml.sax.handler import ContentHandler

from defusedxml.common import (  # type: ignore[import-untyped]
    DefusedXmlException,
    EntitiesForbidden,
)
from defusedxml.expatreader import DefusedExpatParser  # type: ignore[import-untyped]

from dynamic_semantic_lattice_engine.errors import LatticeRdfError

__all__ = ["XML_FORMATS", "check_xml"]

XML_FORMATS = frozenset({"xml", "application/rdf+xml", "pretty-xml", "trix"})
MAX_ENTITY_TEXT = 4096


class _FlatEntityParser(DefusedExpatParser):  # type: ignore[misc]
    """defusedxml's expat reader that admits flat internal entities only."""

    def __init__(self) -> None:
        super().__init__(forbid_dtd=False, forbid_entities=True, forbid_external=True)

    def defused_entity_decl(  # noqa: PLR0917 (expat calls it positionally)
        self,
        name: str,
        is_parameter_entity: bool,
        value: str | None,
        base: str | None,
        sysid: str | None,
        pubid: str | None,
        notation_name: str | None,
    ) -> None:
        flat = (
            not is_parameter_entity
            and value is not None
            and sysid is None
            and pubid is None
            and notation_name is None
            and "&" not in value
            and "%" not in value
            and len(value) <= MAX_ENTITY_TEXT
        )
        if not flat:
            raise EntitiesForbidden(name, value, base, sysid, pubid, notation_name)


def check_xml(data: bytes, where: str) -> None:
    """Parse ``data`` once with the guarded reader; raise if it uses a refused construct.

    Raises:
        LatticeRdfError: the document declares an external, parameter or
            nested entity (XXE, billion laughs), or is not well-formed XML.
    """
    parser = _FlatEntityParser()
    parser.setContentHandler(ContentHandler())
    source = xml.sax.xmlreader.InputSource()
    source.setByteStream(io.BytesIO(data))
    try:
        parser.parse(source)
    except DefusedXmlException as exc:
        raise LatticeRdfError(
            f"refused {where}: {type(exc).__name__}: {exc}",
            hint="RDF/XML may not declare external, parameter or nested entities",
        ) from exc
    except xml.sax.SAXException as exc:
        raise LatticeRdfError(
            f"cannot parse {where} as xml: {exc}", hint="check that the document is well-formed"
        ) from exc
