"""Diego BBS's protobuf messages (package `models`), numbered as upstream `cloudfoundry/bbs` numbers
them, and `codec`, which turns them into the BBS dialect's JSON shapes and back.

The `*.proto` files are Podium's own, written from upstream's `models/*.proto`: the field numbers,
types, enum values and message names are the interface, so the Go `bbs.Client` and every Diego
component can talk to Podium. `*_pb2.py` are generated from them by `scripts/gen-proto`."""
