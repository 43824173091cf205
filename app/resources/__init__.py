"""The resource catalog: public benefits and private resources with their capacity (``docs/care.md``)."""
