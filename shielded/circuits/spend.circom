pragma circom 2.0.0;

// The shielded pool's spend statement (design section 3, "Spending"), 2 inputs x 2 outputs.
//
// Public: anchor, epoch, expiry_limit (= epoch + N), nullifier[2], in_tier[2],
//         out_commitment[2], out_tier[2], public_in, public_out, fee, binding.
// Proves, for each input i (skipped membership only for a dummy: value 0 and ephemeral):
//   ak = Poseidon(ask), pk = Poseidon(ak, nk)                     (knows the spend key)
//   cm = Poseidon(value, pk, blinding, expiry, tier)               (a well-formed note)
//   Poseidon(live_root, permanent_root) == anchor, with cm at `position` in the live tree
//     (tier 0) or the permanent tree (tiers 1, 2) and the other root supplied privately
//   nullifier = Poseidon(nk, cm, position)
//   expiry >= epoch
// for each output j: cm_j = Poseidon(value, pk, blinding, expiry, tier), value and expiry
// 64-bit, ephemeral outputs expire by expiry_limit, permanent ones never (expiry = 2^64 - 1);
// and sum(in) + public_in == sum(out) + public_out + fee, every value range-checked to 64 bits.
// `binding` (a hash of the rest of the transaction) is squared so it is bound to the proof.

include "poseidon.circom";
include "bitify.circom";
include "comparators.circom";

// tier in {0, 1, 2}; permanent = 1 for tiers 1 and 2.
template TierCheck() {
    signal input tier;
    signal output permanent;
    signal partial;
    partial <== tier * (tier - 1);
    partial * (tier - 2) === 0;
    component ephemeral = IsZero();
    ephemeral.in <== tier;
    permanent <== 1 - ephemeral.out;
}

// cm = Poseidon(value, pk, blinding, expiry, tier) with value and expiry range-checked.
template NoteCommitment() {
    signal input value;
    signal input pk;
    signal input blinding;
    signal input expiry;
    signal input tier;
    signal output cm;
    component valueBits = Num2Bits(64);
    valueBits.in <== value;
    component expiryBits = Num2Bits(64);
    expiryBits.in <== expiry;
    component hash = Poseidon(5);
    hash.inputs[0] <== value;
    hash.inputs[1] <== pk;
    hash.inputs[2] <== blinding;
    hash.inputs[3] <== expiry;
    hash.inputs[4] <== tier;
    cm <== hash.out;
}

// Root of a depth-`depth` Poseidon Merkle tree from a leaf, its position bits and path.
template MerkleRoot(depth) {
    signal input leaf;
    signal input positionBits[depth];
    signal input siblings[depth];
    signal output root;
    component hashes[depth];
    signal nodes[depth + 1];
    signal leftShift[depth];
    nodes[0] <== leaf;
    for (var h = 0; h < depth; h++) {
        // left = bit ? sibling : node; right = bit ? node : sibling
        leftShift[h] <== positionBits[h] * (siblings[h] - nodes[h]);
        hashes[h] = Poseidon(2);
        hashes[h].inputs[0] <== nodes[h] + leftShift[h];
        hashes[h].inputs[1] <== siblings[h] - leftShift[h];
        nodes[h + 1] <== hashes[h].out;
    }
    root <== nodes[depth];
}

template SpendInput(depth) {
    signal input anchor;
    signal input epoch;
    signal input nullifier;
    signal input tier;
    signal input ask;
    signal input nk;
    signal input value;
    signal input blinding;
    signal input expiry;
    signal input position;
    signal input siblings[depth];
    signal input otherRoot;

    // Verify the spender knows ask for pk = Poseidon(Poseidon(ask), nk).
    component ak = Poseidon(1);
    ak.inputs[0] <== ask;
    component pk = Poseidon(2);
    pk.inputs[0] <== ak.out;
    pk.inputs[1] <== nk;

    component tierCheck = TierCheck();
    tierCheck.tier <== tier;
    component note = NoteCommitment();
    note.value <== value;
    note.pk <== pk.out;
    note.blinding <== blinding;
    note.expiry <== expiry;
    note.tier <== tier;

    // Verify the note exists under the anchor (live tree for tier 0, else permanent).
    component positionBits = Num2Bits(depth);
    positionBits.in <== position;
    component tree = MerkleRoot(depth);
    tree.leaf <== note.cm;
    for (var h = 0; h < depth; h++) {
        tree.positionBits[h] <== positionBits.out[h];
        tree.siblings[h] <== siblings[h];
    }
    signal swap;
    swap <== tierCheck.permanent * (otherRoot - tree.root);
    component anchorHash = Poseidon(2);
    anchorHash.inputs[0] <== tree.root + swap;
    anchorHash.inputs[1] <== otherRoot - swap;
    component zeroValue = IsZero();
    zeroValue.in <== value;
    signal dummy;
    dummy <== zeroValue.out * (1 - tierCheck.permanent);
    (anchorHash.out - anchor) * (1 - dummy) === 0;

    // Verify the nullifier and that the note has not expired.
    component nf = Poseidon(3);
    nf.inputs[0] <== nk;
    nf.inputs[1] <== note.cm;
    nf.inputs[2] <== position;
    nf.out === nullifier;
    component live = GreaterEqThan(64);
    live.in[0] <== expiry;
    live.in[1] <== epoch;
    live.out === 1;
}

template SpendOutput() {
    signal input commitment;
    signal input tier;
    signal input expiryLimit;
    signal input value;
    signal input pk;
    signal input blinding;
    signal input expiry;

    component tierCheck = TierCheck();
    tierCheck.tier <== tier;
    component note = NoteCommitment();
    note.value <== value;
    note.pk <== pk;
    note.blinding <== blinding;
    note.expiry <== expiry;
    note.tier <== tier;
    note.cm === commitment;

    // Ephemeral outputs expire within the live window; permanent ones never expire.
    component withinWindow = LessEqThan(64);
    withinWindow.in[0] <== expiry;
    withinWindow.in[1] <== expiryLimit;
    (1 - withinWindow.out) * (1 - tierCheck.permanent) === 0;
    tierCheck.permanent * (expiry - 18446744073709551615) === 0;
}

template Spend(depth) {
    signal input anchor;
    signal input epoch;
    signal input expiryLimit;
    signal input nullifier[2];
    signal input inTier[2];
    signal input outCommitment[2];
    signal input outTier[2];
    signal input publicIn;
    signal input publicOut;
    signal input fee;
    signal input binding;

    signal input inAsk[2];
    signal input inNk[2];
    signal input inValue[2];
    signal input inBlinding[2];
    signal input inExpiry[2];
    signal input inPosition[2];
    signal input inSiblings[2][depth];
    signal input inOtherRoot[2];
    signal input outValue[2];
    signal input outPk[2];
    signal input outBlinding[2];
    signal input outExpiry[2];

    component inputs[2];
    for (var i = 0; i < 2; i++) {
        inputs[i] = SpendInput(depth);
        inputs[i].anchor <== anchor;
        inputs[i].epoch <== epoch;
        inputs[i].nullifier <== nullifier[i];
        inputs[i].tier <== inTier[i];
        inputs[i].ask <== inAsk[i];
        inputs[i].nk <== inNk[i];
        inputs[i].value <== inValue[i];
        inputs[i].blinding <== inBlinding[i];
        inputs[i].expiry <== inExpiry[i];
        inputs[i].position <== inPosition[i];
        for (var h = 0; h < depth; h++) {
            inputs[i].siblings[h] <== inSiblings[i][h];
        }
        inputs[i].otherRoot <== inOtherRoot[i];
    }
    component outputs[2];
    for (var j = 0; j < 2; j++) {
        outputs[j] = SpendOutput();
        outputs[j].commitment <== outCommitment[j];
        outputs[j].tier <== outTier[j];
        outputs[j].expiryLimit <== expiryLimit;
        outputs[j].value <== outValue[j];
        outputs[j].pk <== outPk[j];
        outputs[j].blinding <== outBlinding[j];
        outputs[j].expiry <== outExpiry[j];
    }

    // Verify value balance; public amounts are < 2^64 (checked by the verifier's caller).
    component publicBits[3];
    publicBits[0] = Num2Bits(64);
    publicBits[0].in <== publicIn;
    publicBits[1] = Num2Bits(64);
    publicBits[1].in <== publicOut;
    publicBits[2] = Num2Bits(64);
    publicBits[2].in <== fee;
    inValue[0] + inValue[1] + publicIn === outValue[0] + outValue[1] + publicOut + fee;

    // Bind the rest of the transaction to this proof.
    signal bindingSquare;
    bindingSquare <== binding * binding;
}

component main {public [anchor, epoch, expiryLimit, nullifier, inTier, outCommitment, outTier,
                       publicIn, publicOut, fee, binding]} = Spend(28);
