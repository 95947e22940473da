"""PVM invocations of the protocol (graypaper 0.7.2 Appendix B).

- `partial_state`: the accumulation partial state (eq. 12.13) and account views;
- `context`: deferred transfers, operand tuples and the implications pair (x, y);
- `accumulate`: Ψ_A, the accumulate invocation (eq. B.9-B.13);
- `is_authorized`: Ψ_I, the is-authorized invocation (B.1);
- `refine`: Ψ_R, the refine invocation (B.3);
- `native`, `native_host`, `native_refine`: services implemented in Python (code hash ->
  `NativeService`) that Ψ_A and Ψ_R run instead of PVM code, every host call executed by
  the same host functions over a scratch machine state.

The submodules are imported by name (the host functions depend on `partial_state`, and
`accumulate` on the host functions), so this package imports none of them itself.
"""
