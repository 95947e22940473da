"""Safrole block production (graypaper section 6): tickets, sealing keys, entropy, epochs.

* `state`: the typed state, input and markers, and their w3f-vector JSON form.
* `transition`: the state transition a block causes (`transition(state, input, offenders, spec)`).
* `epochs`, `sequencing`, `tickets`, `marks`: its parts (rotation and entropy, the slot-sealer
  series, ticket validation and the accumulator, the header markers).
* `sealing`: who seals a slot, and making and verifying H_s and H_v over E_U(H) bytes.
* `authoring`: a validator's tickets and slot claims.
* `errors`: `SafroleError` and its typed subclasses.
"""
