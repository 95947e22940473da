"""Conformance tooling around the block importer: the block-import trace files (`trace`),
the trace runner behind `shielded jam import` (`runner`), and the JAM conformance fuzzer's
protocol (`fuzz_protocol` messages, `fuzz_framing` on the wire) and target (`fuzz_target`)."""
