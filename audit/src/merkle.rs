//! RFC 6962 Merkle trees: hashing, proofs and their verification, over stored perfect subtrees.
//!
//! **Hashing** (RFC 6962 §2.1): a leaf hashes as `SHA-256(0x00 || entry)`, an interior node as
//! `SHA-256(0x01 || left || right)`; the tree head (MTH) of the empty tree is `SHA-256("")`.
//! For `n > 1` leaves, with `k` the largest power of two below `n`,
//! `MTH(D[0:n]) = node_hash(MTH(D[0:k]), MTH(D[k:n]))`.
//!
//! **Storage**: a log stores only *perfect, aligned* subtrees ([`NodeId`]: `(level, index)`
//! covers leaves `[index·2^level, (index+1)·2^level)`), which never change once complete.
//! Every range whose MTH the recursive algorithms of RFC 6962 §2.1.1 (PATH) and §2.1.2 (PROOF)
//! need starts at a multiple of the smallest power of two not below its length, so it splits
//! into the perfect subtrees of the binary digits of its length, largest first; its MTH folds
//! them from the right. A proof thus needs O(log n) stored nodes for inclusion and O(log² n) at
//! worst (O(log n) typically) for consistency. The `*_plan` functions name them, deduplicated,
//! so a caller backed by a database fetches them in one query before computing.
//!
//! **Verification** follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency), which
//! need only the proof, never the stored tree.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::error::AuditError;

/// A SHA-256 hash: a leaf hash, a node hash or a tree head.
pub type Hash = [u8; 32];

/// `SHA-256(0x00 || entry)`: the hash of a log entry (RFC 6962 §2.1).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node (RFC 6962 §2.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// `SHA-256("")`: the tree head of the empty tree (RFC 6962 §2.1).
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// A perfect, aligned subtree: covers leaves `[index << level, (index + 1) << level)`. Level 0 =
/// a leaf hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves: the subtree has `2^level` leaves.
    pub level: u8,
    /// Position among the subtrees of this level, from the left.
    pub index: u64,
}

/// Where the hashes of perfect subtrees come from (an in-memory tree, a `HashMap` fetched from a
/// database).
pub trait NodeLookup {
    /// The hash of the perfect subtree `id`, if known.
    fn node(&self, id: NodeId) -> Option<Hash>;
}

impl NodeLookup for HashMap<NodeId, Hash> {
    fn node(&self, id: NodeId) -> Option<Hash> {
        self.get(&id).copied()
    }
}

/// The largest power of two strictly below `n` (`n >= 2`): RFC 6962's split point `k`.
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The perfect subtrees of the range `[a, b)`, left to right: one per binary digit of `b - a`,
/// largest first. Valid for the ranges of RFC 6962's recursion, whose start `a` is a multiple of
/// the smallest power of two not below `b - a` (so each piece is aligned).
fn range_nodes(a: u64, b: u64, out: &mut Vec<NodeId>) {
    let mut a = a;
    let mut len = b.saturating_sub(a);
    while len > 0 {
        let level = 63 - len.leading_zeros();
        // `level` is below 64, so it fits a u8.
        out.push(NodeId {
            level: level as u8,
            index: a >> level,
        });
        a += 1u64 << level;
        len -= 1u64 << level;
    }
}

/// The MTH of `[a, b)` from its perfect subtrees (RFC 6962 §2.1: the left part of each split is
/// the largest perfect piece, so the hash folds from the right). `[a, a)` is the empty tree.
fn range_hash(a: u64, b: u64, nodes: &impl NodeLookup) -> Result<Hash, AuditError> {
    let mut ids = Vec::with_capacity(64);
    range_nodes(a, b, &mut ids);
    let mut acc: Option<Hash> = None;
    for id in ids.iter().rev() {
        let h = nodes.node(*id).ok_or(AuditError::MissingNode {
            level: id.level,
            index: id.index,
        })?;
        acc = Some(match acc {
            None => h,
            Some(right) => node_hash(&h, &right),
        });
    }
    Ok(acc.unwrap_or_else(empty_root))
}

/// The ranges whose MTHs make up PATH(index, D[0:size]) (RFC 6962 §2.1.1), leaf to root.
fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<(u64, u64)>, AuditError> {
    if index >= size {
        return Err(AuditError::IndexOutOfRange { index, size });
    }
    // PATH(m, D[n]) for n > 1, k = split(n): m < k → PATH(m, D[0:k]) : MTH(D[k:n]);
    // otherwise PATH(m - k, D[k:n]) : MTH(D[0:k]). Collected root first, then reversed.
    let (mut a, mut b) = (0u64, size);
    let mut out = Vec::with_capacity(64);
    while b - a > 1 {
        let k = split(b - a);
        if index < a + k {
            out.push((a + k, b));
            b = a + k;
        } else {
            out.push((a, a + k));
            a += k;
        }
    }
    out.reverse();
    Ok(out)
}

/// The ranges whose MTHs make up PROOF(first, D[0:second]) (RFC 6962 §2.1.2), in proof order.
fn consistency_ranges(first: u64, second: u64) -> Result<Vec<(u64, u64)>, AuditError> {
    if first == 0 || first > second {
        return Err(AuditError::BadTreeSizes { first, second });
    }
    // SUBPROOF(m, D[n], b): m == n → {} if b, else {MTH(D[n])}; m <= k → SUBPROOF(m, D[0:k], b)
    // : MTH(D[k:n]); m > k → SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]). With absolute
    // bounds, "m == n" is `first == b` and "m <= k" is `first <= a + k`.
    let (mut a, mut b, mut whole) = (0u64, second, true);
    let mut out = Vec::with_capacity(64);
    loop {
        if first == b {
            if !whole {
                out.push((a, b));
            }
            break;
        }
        let k = split(b - a);
        if first <= a + k {
            out.push((a + k, b));
            b = a + k;
        } else {
            out.push((a, a + k));
            a += k;
            whole = false;
        }
    }
    out.reverse();
    Ok(out)
}

/// The deduplicated, sorted perfect subtrees covering `ranges`.
fn plan_of(ranges: &[(u64, u64)]) -> Vec<NodeId> {
    let mut ids = Vec::with_capacity(ranges.len() * 4);
    for &(a, b) in ranges {
        range_nodes(a, b, &mut ids);
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The perfect subtrees [`root`] reads for a tree of `size` leaves (none for the empty tree).
pub fn root_plan(size: u64) -> Vec<NodeId> {
    plan_of(&[(0, size)])
}

/// The perfect subtrees [`inclusion_proof`] reads; `index < size`, or
/// [`AuditError::IndexOutOfRange`].
pub fn inclusion_plan(index: u64, size: u64) -> Result<Vec<NodeId>, AuditError> {
    Ok(plan_of(&inclusion_ranges(index, size)?))
}

/// The perfect subtrees [`consistency_proof`] reads; `0 < first <= second`, or
/// [`AuditError::BadTreeSizes`].
pub fn consistency_plan(first: u64, second: u64) -> Result<Vec<NodeId>, AuditError> {
    Ok(plan_of(&consistency_ranges(first, second)?))
}

/// The frontier [`append`] needs after `size` leaves: the perfect subtrees along the right edge
/// of the tree, one per binary digit of `size` (the same nodes as [`root_plan`]).
pub fn append_plan(size: u64) -> Vec<NodeId> {
    root_plan(size)
}

/// `MTH(D[0:size])` from the nodes of [`root_plan`]; [`empty_root`] when `size` is 0.
pub fn root(size: u64, nodes: &impl NodeLookup) -> Result<Hash, AuditError> {
    range_hash(0, size, nodes)
}

/// The audit path of leaf `index` in the tree of `size` leaves, RFC 6962 §2.1.1 `PATH(m, D[n])`,
/// from the leaf's sibling up; `nodes` must hold [`inclusion_plan`].
pub fn inclusion_proof(index: u64, size: u64, nodes: &impl NodeLookup) -> Result<Vec<Hash>, AuditError> {
    inclusion_ranges(index, size)?
        .into_iter()
        .map(|(a, b)| range_hash(a, b, nodes))
        .collect()
}

/// The consistency proof between the trees of `first` and `second` leaves, RFC 6962 §2.1.2
/// `PROOF(m, D[n])`; `nodes` must hold [`consistency_plan`]. Empty when `first == second`.
pub fn consistency_proof(first: u64, second: u64, nodes: &impl NodeLookup) -> Result<Vec<Hash>, AuditError> {
    consistency_ranges(first, second)?
        .into_iter()
        .map(|(a, b)| range_hash(a, b, nodes))
        .collect()
}

/// What [`append`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Every new perfect subtree, to store: the level-0 node of each new leaf and each higher
    /// node the new leaves completed, in the order they were completed.
    pub nodes: Vec<(NodeId, Hash)>,
    /// The new tree size.
    pub size: u64,
    /// The new tree head.
    pub root: Hash,
}

/// Appends `leaves` (already leaf-hashed, [`leaf_hash`]) after `size` leaves: returns every new
/// perfect-subtree node to store (level 0 for each leaf, and each higher node completed), the new
/// size and root. `frontier` must hold [`append_plan`]`(size)`.
pub fn append(size: u64, frontier: &impl NodeLookup, leaves: &[Hash]) -> Result<Appended, AuditError> {
    let count = leaves.len() as u64;
    let end = size.checked_add(count).ok_or(AuditError::LogFull { size, count })?;
    // The right edge, left to right: one perfect subtree per binary digit of the size, the
    // smallest last. A new leaf merges with the top of the stack while it is a right child.
    let mut edge = Vec::with_capacity(64);
    range_nodes(0, size, &mut edge);
    let mut stack: Vec<(NodeId, Hash)> = Vec::with_capacity(64);
    for id in edge {
        let h = frontier.node(id).ok_or(AuditError::MissingNode {
            level: id.level,
            index: id.index,
        })?;
        stack.push((id, h));
    }
    let mut nodes = Vec::with_capacity(leaves.len() * 2 + 1);
    for (i, leaf) in (size..end).zip(leaves) {
        let mut id = NodeId { level: 0, index: i };
        let mut h = *leaf;
        nodes.push((id, h));
        while id.index & 1 == 1 {
            // A right child: its left sibling is the smallest subtree on the edge.
            let Some((_, left)) = stack.pop() else {
                return Err(AuditError::MissingNode {
                    level: id.level,
                    index: id.index - 1,
                });
            };
            h = node_hash(&left, &h);
            id = NodeId {
                level: id.level + 1,
                index: id.index >> 1,
            };
            nodes.push((id, h));
        }
        stack.push((id, h));
    }
    let root = stack
        .iter()
        .rev()
        .map(|(_, h)| *h)
        .reduce(|right, left| node_hash(&left, &right))
        .unwrap_or_else(empty_root);
    Ok(Appended { nodes, size: end, root })
}

fn mismatch(what: String) -> AuditError {
    AuditError::ProofMismatch(what)
}

/// Verifies that `leaf` (a leaf hash) is entry `index` of the tree of `size` leaves whose head
/// is `root`, by its audit path `proof` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> Result<(), AuditError> {
    let what = || format!("inclusion proof of leaf {index} in tree size {size}");
    if index >= size {
        return Err(AuditError::IndexOutOfRange { index, size });
    }
    // §2.1.3.2 steps 2–5: fn = leaf_index, sn = tree_size − 1, r = leaf hash.
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(mismatch(format!("{}: {} hashes, too many", what(), proof.len())));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(mismatch(format!("{}: {} hashes, too few", what(), proof.len())));
    }
    if &r != root {
        return Err(mismatch(format!("{}: the computed root is not the tree head", what())));
    }
    Ok(())
}

/// Verifies that the tree of `second` leaves with head `second_root` extends the tree of `first`
/// leaves with head `first_root`, by the consistency proof `proof` (RFC 9162 §2.1.4.2). Equal
/// sizes need an empty proof and equal heads; `first` must be above 0.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), AuditError> {
    let what = || format!("consistency proof from tree size {first} to {second}");
    if first == 0 || first > second {
        return Err(AuditError::BadTreeSizes { first, second });
    }
    if first == second {
        if !proof.is_empty() {
            return Err(mismatch(format!(
                "{}: equal sizes need an empty proof, not {} hashes",
                what(),
                proof.len()
            )));
        }
        if first_root != second_root {
            return Err(mismatch(format!("{}: equal sizes with different tree heads", what())));
        }
        return Ok(());
    }
    // §2.1.4.2 step 1: an empty proof fails; step 2: if `first` is a power of two, its head is
    // the proof's implicit first value.
    let Some((head, tail)) = proof.split_first() else {
        return Err(mismatch(format!("{}: the proof is empty", what())));
    };
    let (start, rest) = if first.is_power_of_two() {
        (*first_root, proof)
    } else {
        (*head, tail)
    };
    // Steps 3–5.
    let (mut fn_, mut sn) = (first - 1, second - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (start, start);
    // Step 6.
    for c in rest {
        if sn == 0 {
            return Err(mismatch(format!("{}: {} hashes, too many", what(), proof.len())));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 7.
    if sn != 0 {
        return Err(mismatch(format!("{}: {} hashes, too few", what(), proof.len())));
    }
    if &fr != first_root {
        return Err(mismatch(format!(
            "{}: the computed first tree head is not the given one",
            what()
        )));
    }
    if &sr != second_root {
        return Err(mismatch(format!(
            "{}: the computed second tree head is not the given one",
            what()
        )));
    }
    Ok(())
}

/// An in-memory log (tests, benchmarks, the offline verifier): keeps every perfect subtree,
/// `levels[l][i]` being the node `(l, i)`.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> MemoryTree {
        MemoryTree {
            levels: vec![Vec::new()],
        }
    }

    /// Appends an entry (hashed with [`leaf_hash`]); returns its index.
    pub fn push(&mut self, entry: &[u8]) -> u64 {
        self.push_leaf_hash(leaf_hash(entry))
    }

    /// Appends a leaf hash; returns its index.
    pub fn push_leaf_hash(&mut self, leaf: Hash) -> u64 {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        let index = self.size();
        let mut h = leaf;
        let mut i = index;
        let mut level = 0usize;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(h);
            if i & 1 == 0 {
                break;
            }
            // A right child completes its parent.
            let left = self.levels[level][(i - 1) as usize];
            h = node_hash(&left, &h);
            i >>= 1;
            level += 1;
        }
        index
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }
}

impl NodeLookup for MemoryTree {
    fn node(&self, id: NodeId) -> Option<Hash> {
        let index = usize::try_from(id.index).ok()?;
        self.levels.get(usize::from(id.level))?.get(index).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // ---- A reference implementation written straight from RFC 6962 §2.1 (recursive, over the
    // entries themselves), nothing shared with the code above but the two hash functions. ----

    fn k_of(n: usize) -> usize {
        let mut k = 1;
        while k << 1 < n {
            k <<= 1;
        }
        k
    }

    /// MTH(D[n]).
    fn mth(d: &[Hash]) -> Hash {
        match d.len() {
            0 => empty_root(),
            1 => d[0],
            n => {
                // Memoised, only for speed (debug builds): every test tree is a run of one fixed
                // sequence of distinct leaves, so the first leaf and the length name the range.
                let key = (d[0], n);
                if let Some(h) = MTH_MEMO.with(|m| m.borrow().get(&key).copied()) {
                    return h;
                }
                let k = k_of(n);
                let h = node_hash(&mth(&d[..k]), &mth(&d[k..]));
                MTH_MEMO.with(|m| m.borrow_mut().insert(key, h));
                h
            }
        }
    }

    thread_local! {
        static MTH_MEMO: std::cell::RefCell<HashMap<(Hash, usize), Hash>> = std::cell::RefCell::new(HashMap::new());
    }

    /// PATH(m, D[n]).
    fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
        let n = d.len();
        if n == 1 {
            return vec![];
        }
        let k = k_of(n);
        if m < k {
            let mut p = path(m, &d[..k]);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = path(m - k, &d[k..]);
            p.push(mth(&d[..k]));
            p
        }
    }

    /// SUBPROOF(m, D[n], b).
    fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![mth(d)] };
        }
        let k = k_of(n);
        if m <= k {
            let mut p = subproof(m, &d[..k], b);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = subproof(m - k, &d[k..], false);
            p.push(mth(&d[..k]));
            p
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(format!("entry {i}").as_bytes())).collect()
    }

    fn tree_of(d: &[Hash]) -> MemoryTree {
        let mut t = MemoryTree::new();
        for h in d {
            t.push_leaf_hash(*h);
        }
        t
    }

    /// Only the planned nodes, as a database would return them.
    fn fetched(tree: &MemoryTree, plan: &[NodeId]) -> HashMap<NodeId, Hash> {
        plan.iter()
            .map(|id| (*id, tree.node(*id).expect("planned node exists")))
            .collect()
    }

    fn h(text: &str) -> Hash {
        hex::decode(text).expect("hex").try_into().expect("32 bytes")
    }

    /// The Certificate Transparency reference vectors (the 8 entries and tree heads of
    /// certificate-transparency's merkle_tree_test, also used by transparency-dev/merkle).
    const CT_ENTRIES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const CT_ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    #[test]
    fn certificate_transparency_reference_roots() {
        assert_eq!(empty_root(), h(CT_ROOTS[0]));
        let mut t = MemoryTree::new();
        assert_eq!(root(0, &t).expect("empty"), h(CT_ROOTS[0]));
        for (i, e) in CT_ENTRIES.iter().enumerate() {
            assert_eq!(t.push(&hex::decode(e).expect("hex")), i as u64);
            assert_eq!(root(t.size(), &t).expect("root"), h(CT_ROOTS[i + 1]), "size {}", i + 1);
        }
        // Every proof of the 8-leaf tree verifies against the reference head.
        let d: Vec<Hash> = CT_ENTRIES
            .iter()
            .map(|e| leaf_hash(&hex::decode(e).expect("hex")))
            .collect();
        for m in 0..8 {
            let p = inclusion_proof(m, 8, &t).expect("proof");
            assert_eq!(p, path(m as usize, &d));
            verify_inclusion(&d[m as usize], m, 8, &p, &h(CT_ROOTS[8])).expect("verifies");
        }
        for first in 1..=8u64 {
            let p = consistency_proof(first, 8, &t).expect("proof");
            verify_consistency(first, 8, &h(CT_ROOTS[first as usize]), &h(CT_ROOTS[8]), &p).expect("verifies");
        }
    }

    #[test]
    fn every_size_to_300_matches_the_reference() {
        let d = leaves(300);
        let t = tree_of(&d);
        for n in 1..=300usize {
            let size = n as u64;
            let head = mth(&d[..n]);
            assert_eq!(
                root(size, &fetched(&t, &root_plan(size))).expect("root"),
                head,
                "root of {n}"
            );
            for m in 0..n {
                let plan = inclusion_plan(m as u64, size).expect("plan");
                let p = inclusion_proof(m as u64, size, &fetched(&t, &plan)).expect("proof");
                assert_eq!(p, path(m, &d[..n]), "PATH({m}, D[{n}])");
                verify_inclusion(&d[m], m as u64, size, &p, &head).expect("inclusion verifies");
                let first = m + 1;
                let plan = consistency_plan(first as u64, size).expect("plan");
                let p = consistency_proof(first as u64, size, &fetched(&t, &plan)).expect("proof");
                assert_eq!(p, subproof(first, &d[..n], true), "PROOF({first}, D[{n}])");
                verify_consistency(first as u64, size, &mth(&d[..first]), &head, &p).expect("consistency verifies");
            }
        }
    }

    #[test]
    fn plans_are_small_and_deduplicated() {
        for size in [1u64, 2, 3, 7, 8, 9, 1000, 1 << 20, (1 << 40) + 12345, u64::MAX] {
            assert_eq!(root_plan(size).len(), size.count_ones() as usize);
            for index in [0, size / 3, size / 2, size - 1] {
                let plan = inclusion_plan(index, size).expect("plan");
                assert!(plan.len() <= 2 * 64, "{size} {index}: {}", plan.len());
                assert!(plan.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
                let plan = consistency_plan(index + 1, size).expect("plan");
                assert!(plan.len() <= 64 * 64, "{size} {index}: {}", plan.len());
                assert!(plan.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
            }
        }
        assert_eq!(root_plan(0), vec![]);
        assert_eq!(
            root_plan(6),
            vec![NodeId { level: 1, index: 2 }, NodeId { level: 2, index: 0 }]
        );
        assert_eq!(append_plan(6), root_plan(6));
    }

    #[test]
    fn bad_arguments_and_missing_nodes_are_named() {
        assert_eq!(
            inclusion_plan(5, 5),
            Err(AuditError::IndexOutOfRange { index: 5, size: 5 })
        );
        assert_eq!(
            inclusion_plan(0, 0),
            Err(AuditError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(
            consistency_plan(0, 5),
            Err(AuditError::BadTreeSizes { first: 0, second: 5 })
        );
        assert_eq!(
            consistency_plan(6, 5),
            Err(AuditError::BadTreeSizes { first: 6, second: 5 })
        );
        assert_eq!(consistency_plan(5, 5), Ok(vec![]));
        let t = tree_of(&leaves(10));
        let mut some = fetched(&t, &inclusion_plan(3, 10).expect("plan"));
        some.remove(&NodeId { level: 1, index: 4 });
        let e = inclusion_proof(3, 10, &some).expect_err("missing");
        assert_eq!(e, AuditError::MissingNode { level: 1, index: 4 });
        assert!(e.to_string().contains("level 1, index 4"), "{e}");
        assert_eq!(
            root(10, &HashMap::new()),
            Err(AuditError::MissingNode { level: 1, index: 4 })
        );
        assert_eq!(root(0, &HashMap::new()), Ok(empty_root()));
        assert!(matches!(
            append(10, &HashMap::new(), &[[0; 32]]),
            Err(AuditError::MissingNode { .. })
        ));
        assert_eq!(
            append(u64::MAX, &t, &[[0; 32]]),
            Err(AuditError::LogFull {
                size: u64::MAX,
                count: 1
            })
        );
        assert!(matches!(
            verify_inclusion(&[0; 32], 3, 3, &[], &[0; 32]),
            Err(AuditError::IndexOutOfRange { .. })
        ));
        let head = root(10, &t).expect("root");
        assert!(verify_consistency(10, 10, &head, &head, &[]).is_ok());
        assert!(verify_consistency(10, 10, &head, &[0; 32], &[]).is_err());
        assert!(verify_consistency(10, 10, &head, &head, &[head]).is_err());
        assert!(matches!(
            verify_consistency(0, 10, &head, &head, &[]),
            Err(AuditError::BadTreeSizes { .. })
        ));
        assert!(matches!(
            verify_consistency(4, 10, &head, &head, &[]),
            Err(AuditError::ProofMismatch(_))
        ));
    }

    /// The shape of an audit path, from the prover's side: for each sibling, is it left of the
    /// leaf? `None` when there is no such proof.
    fn inclusion_shape(index: u64, size: u64) -> Option<Vec<bool>> {
        inclusion_ranges(index, size)
            .ok()
            .map(|r| r.iter().map(|&(_, b)| b <= index).collect())
    }

    /// The shape of a consistency proof, from the prover's side: is the first tree's head implicit
    /// (a power of two), and for each further hash, does it lie inside the first tree?
    fn consistency_shape(first: u64, second: u64) -> Option<(bool, Vec<bool>)> {
        let ranges = consistency_ranges(first, second).ok()?;
        let implicit = first.is_power_of_two();
        let rest = if implicit || ranges.is_empty() {
            &ranges[..]
        } else {
            &ranges[1..]
        };
        Some((implicit, rest.iter().map(|&(_, b)| b <= first).collect()))
    }

    /// Each single-bit flip of the proof, the leaf and the root; each other index and size;
    /// the proof truncated and extended: all refused.
    fn assert_inclusion_strict(leaf: &Hash, index: u64, size: u64, proof: &[Hash], head: &Hash) {
        verify_inclusion(leaf, index, size, proof, head).expect("the honest proof verifies");
        for i in 0..proof.len() {
            for bit in 0..256 {
                let mut p = proof.to_vec();
                p[i][bit / 8] ^= 1 << (bit % 8);
                assert!(
                    verify_inclusion(leaf, index, size, &p, head).is_err(),
                    "proof[{i}] bit {bit}"
                );
            }
        }
        for bit in 0..256 {
            let (mut l, mut r) = (*leaf, *head);
            l[bit / 8] ^= 1 << (bit % 8);
            r[bit / 8] ^= 1 << (bit % 8);
            assert!(
                verify_inclusion(&l, index, size, proof, head).is_err(),
                "leaf bit {bit}"
            );
            assert!(
                verify_inclusion(leaf, index, size, proof, &r).is_err(),
                "root bit {bit}"
            );
        }
        // Another index or size is refused unless its audit path has the very same shape (then
        // the proof alone cannot tell them apart: the signed tree head binds size and root).
        let shape = inclusion_shape(index, size);
        for other in 0..size * 2 + 2 {
            if other != index && inclusion_shape(other, size) != shape {
                assert!(
                    verify_inclusion(leaf, other, size, proof, head).is_err(),
                    "index {other}"
                );
            }
            if other != size && inclusion_shape(index, other) != shape {
                assert!(
                    verify_inclusion(leaf, index, other, proof, head).is_err(),
                    "size {other}"
                );
            }
        }
        assert!(
            verify_inclusion(leaf, index, size * 2, proof, head).is_err(),
            "size doubled"
        );
        if !proof.is_empty() {
            assert!(
                verify_inclusion(leaf, index, size, &proof[..proof.len() - 1], head).is_err(),
                "truncated"
            );
            assert!(
                verify_inclusion(leaf, index, size, &proof[1..], head).is_err(),
                "first hash dropped"
            );
        }
        let mut longer = proof.to_vec();
        longer.push(*head);
        assert!(verify_inclusion(leaf, index, size, &longer, head).is_err(), "extended");
    }

    fn assert_consistency_strict(first: u64, second: u64, r1: &Hash, r2: &Hash, proof: &[Hash]) {
        verify_consistency(first, second, r1, r2, proof).expect("the honest proof verifies");
        for i in 0..proof.len() {
            for bit in 0..256 {
                let mut p = proof.to_vec();
                p[i][bit / 8] ^= 1 << (bit % 8);
                assert!(
                    verify_consistency(first, second, r1, r2, &p).is_err(),
                    "proof[{i}] bit {bit}"
                );
            }
        }
        for bit in 0..256 {
            let (mut a, mut b) = (*r1, *r2);
            a[bit / 8] ^= 1 << (bit % 8);
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(
                verify_consistency(first, second, &a, r2, proof).is_err(),
                "first root bit {bit}"
            );
            assert!(
                verify_consistency(first, second, r1, &b, proof).is_err(),
                "second root bit {bit}"
            );
        }
        // As for inclusion: other sizes are refused unless the proof has the very same shape.
        let shape = consistency_shape(first, second);
        for other in 0..second * 2 + 2 {
            if other != first && consistency_shape(other, second) != shape {
                assert!(
                    verify_consistency(other, second, r1, r2, proof).is_err(),
                    "first size {other}"
                );
            }
            if other != second && consistency_shape(first, other) != shape {
                assert!(
                    verify_consistency(first, other, r1, r2, proof).is_err(),
                    "second size {other}"
                );
            }
        }
        if !proof.is_empty() {
            assert!(
                verify_consistency(first, second, r1, r2, &proof[..proof.len() - 1]).is_err(),
                "truncated"
            );
            assert!(
                verify_consistency(first, second, r1, r2, &proof[1..]).is_err(),
                "first hash dropped"
            );
        }
        let mut longer = proof.to_vec();
        longer.push(*r2);
        assert!(verify_consistency(first, second, r1, r2, &longer).is_err(), "extended");
    }

    #[test]
    fn verification_is_strict_for_every_proof_of_small_trees() {
        let d = leaves(20);
        let t = tree_of(&d);
        for size in 1..=20u64 {
            let head = mth(&d[..size as usize]);
            for index in 0..size {
                let p = inclusion_proof(index, size, &t).expect("proof");
                assert_inclusion_strict(&d[index as usize], index, size, &p, &head);
            }
            for first in 1..=size {
                let p = consistency_proof(first, size, &t).expect("proof");
                assert_consistency_strict(first, size, &mth(&d[..first as usize]), &head, &p);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn random_sizes_match_the_reference(n in 1usize..2000, m_seed in any::<u64>(), f_seed in any::<u64>()) {
            let d = leaves(n);
            let t = tree_of(&d);
            let size = n as u64;
            let head = mth(&d);
            prop_assert_eq!(root(size, &fetched(&t, &root_plan(size))).expect("root"), head);
            let m = m_seed % size;
            let p = inclusion_proof(m, size, &fetched(&t, &inclusion_plan(m, size).expect("plan"))).expect("proof");
            prop_assert_eq!(&p, &path(m as usize, &d));
            assert_inclusion_strict(&d[m as usize], m, size, &p, &head);
            let first = 1 + f_seed % size;
            let plan = consistency_plan(first, size).expect("plan");
            let p = consistency_proof(first, size, &fetched(&t, &plan)).expect("proof");
            prop_assert_eq!(&p, &subproof(first as usize, &d, true));
            verify_consistency(first, size, &mth(&d[..first as usize]), &head, &p).expect("verifies");
        }

        #[test]
        fn appending_in_random_batches_equals_pushing_one_by_one(
            batches in proptest::collection::vec(0usize..40, 0..25),
        ) {
            let total: usize = batches.iter().sum();
            let d = leaves(total);
            let one_by_one = tree_of(&d);
            // The store: only what `append` returned, looked up through plans.
            let mut store: HashMap<NodeId, Hash> = HashMap::new();
            let mut size = 0u64;
            for len in batches {
                let batch = &d[size as usize..size as usize + len];
                let frontier = fetched(&one_by_one, &append_plan(size));
                let a = append(size, &frontier, batch).expect("append");
                for (id, h) in &a.nodes {
                    prop_assert_eq!(Some(*h), one_by_one.node(*id), "node {:?}", id);
                    prop_assert!(store.insert(*id, *h).is_none(), "node {:?} made twice", id);
                }
                prop_assert_eq!(a.size, size + len as u64);
                prop_assert_eq!(a.root, mth(&d[..a.size as usize]));
                size = a.size;
            }
            // Every perfect subtree was made exactly once.
            let expected: usize = (0..64).map(|l| total >> l).sum();
            prop_assert_eq!(store.len(), expected);
        }
    }
}
