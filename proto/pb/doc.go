// Package pb holds the protobuf messages of ferry's wire protocols, generated
// from ferry.proto (device connections) and pair.proto (pairing). Nothing
// outside packages proto and proto/pair should use them: those convert them
// to and from their domain types and validate what they decode.
//
// Regenerate with `make proto`, which runs protoc with protoc-gen-go (see the
// header of ferry.proto for the exact command).
package pb
