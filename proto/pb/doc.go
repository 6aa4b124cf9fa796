// Package pb holds the protobuf messages of ferry's wire protocol, generated
// from ferry.proto. Nothing outside package proto should use them: proto
// converts them to and from its domain types and validates what it decodes.
//
// Regenerate with `make proto`, which runs protoc with protoc-gen-go (see the
// header of ferry.proto for the exact command).
package pb
